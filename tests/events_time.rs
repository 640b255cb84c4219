//! EventBridge's time-based behaviour on tokio's paused clock, in process: scheduled rules
//! firing into a queue, archives recording and ageing out, replays, and restarts (the services
//! rebuilt over the same store and clock, the old background tasks stopped).

use ferry::caller::Caller;
use ferry::clock::{Clock, iso_seconds};
use ferry::delivery::Delivery;
use ferry::error::{ApiError, ErrorCode};
use ferry::events::Events;
use ferry::protocol::Params;
use ferry::sqs::Sqs;
use ferry::storage::{Durable, MemoryStore, Store, SyncPolicy, keys};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::Duration;
use tokio::time::sleep;

const ACCOUNT: &str = "000000000000";
const REGION: &str = "us-east-1";

struct Ferry {
    sqs: Arc<Sqs>,
    events: Arc<Events>,
    clock: Clock,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

fn caller() -> Caller {
    Caller::local(ACCOUNT, REGION)
}

impl Ferry {
    /// The services over `store`, as `App::open` and `run` wire them.
    fn open(store: &Arc<MemoryStore>, clock: Clock) -> Ferry {
        let s: Arc<dyn Store> = store.clone();
        let durable = Arc::new(Durable::new(s.clone(), s, SyncPolicy::default()));
        let sqs = Sqs::open(durable.clone(), clock, 1 << 20).unwrap();
        let events = Events::open(durable.clone(), clock).unwrap();
        let delivery = Delivery::open(durable, clock, sqs.clone()).unwrap();
        events.deliver_through(delivery.clone());
        delivery.start(&|_| true);
        let tasks = events.start_background();
        Ferry {
            sqs,
            events,
            clock,
            tasks,
        }
    }

    fn fresh() -> Ferry {
        Ferry::open(&Arc::new(MemoryStore::default()), Clock::new())
    }

    /// Plays the process dying: its background work stops.
    fn kill(self) {
        for t in self.tasks {
            t.abort();
        }
    }

    async fn call(&self, action: &str, input: Value) -> Result<Value, ApiError> {
        let p = Params::from_value(input).unwrap();
        self.events.call(action, &caller(), p).await
    }

    async fn ok(&self, action: &str, input: Value) -> Value {
        self.call(action, input)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    async fn err(&self, action: &str, input: Value) -> ApiError {
        match self.call(action, input).await {
            Ok(v) => panic!("{action} succeeded: {v}"),
            Err(e) => e,
        }
    }

    async fn sqs(&self, action: &str, input: Value) -> Value {
        let p = Params::from_value(input).unwrap();
        self.sqs.call(action, &caller(), p).await.unwrap()
    }

    /// A queue; its URL and ARN.
    async fn queue(&self, name: &str) -> (String, String) {
        let out = self.sqs("CreateQueue", json!({"QueueName": name})).await;
        let url = out["QueueUrl"].as_str().unwrap().to_string();
        (url, format!("arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"))
    }

    /// Every message waiting in the queue (received and deleted), as parsed bodies.
    async fn drain(&self, url: &str) -> Vec<Value> {
        let mut got = Vec::new();
        for _ in 0..20 {
            let out = self
                .sqs(
                    "ReceiveMessage",
                    json!({"QueueUrl": url, "MaxNumberOfMessages": 10}),
                )
                .await;
            let msgs = out["Messages"].as_array().cloned().unwrap_or_default();
            if msgs.is_empty() {
                break;
            }
            for m in msgs {
                got.push(serde_json::from_str(m["Body"].as_str().unwrap()).unwrap());
                self.sqs(
                    "DeleteMessage",
                    json!({"QueueUrl": url, "ReceiptHandle": m["ReceiptHandle"]}),
                )
                .await;
            }
        }
        got
    }

    fn now_s(&self) -> u64 {
        self.clock.now_ms() / 1000
    }
}

fn rule_arn(name: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/{name}")
}

fn bus_arn(name: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{name}")
}

fn archive_arn(name: &str) -> String {
    format!("arn:aws:events:{REGION}:{ACCOUNT}:archive/{name}")
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[tokio::test(start_paused = true)]
async fn scheduled_rules_fire_on_the_servers_clock() {
    let f = Ferry::fresh();
    let (url, arn) = f.queue("sched").await;
    let anchor = f.clock.now_ms();
    f.ok(
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
    )
    .await;
    f.ok(
        "PutTargets",
        json!({"Rule": "tick", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    sleep(secs(299)).await;
    assert!(f.drain(&url).await.is_empty(), "nothing before the period");
    sleep(secs(2)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    // EB-041: AWS's scheduled event, keys in AWS's order.
    let e = &got[0];
    let keys: Vec<&str> = e.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "version",
            "id",
            "detail-type",
            "source",
            "account",
            "time",
            "region",
            "resources",
            "detail"
        ]
    );
    assert_eq!(e["detail-type"], "Scheduled Event");
    assert_eq!(e["source"], "aws.events");
    assert_eq!(e["resources"], json!([rule_arn("tick")]));
    assert_eq!(e["detail"], json!({}));
    assert_eq!(e["account"], ACCOUNT);
    assert_eq!(e["region"], REGION);
    let slot = |k: u64| iso_seconds(((anchor + k * 300_000) / 1000) as i64);
    assert_eq!(e["time"], slot(1));
    sleep(secs(300)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["time"], slot(2));
    assert_ne!(got[0]["id"], e["id"]);

    // Disabled: nothing fires, and enabling it does not fire what was skipped.
    f.ok("DisableRule", json!({"Name": "tick"})).await;
    sleep(secs(1_000)).await;
    assert!(f.drain(&url).await.is_empty());
    f.ok("EnableRule", json!({"Name": "tick"})).await;
    sleep(secs(1)).await;
    assert!(f.drain(&url).await.is_empty());
    // The schedule goes on from its anchor: slot 6 (1,800 s) is the next one.
    sleep(secs(200)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["time"], slot(6));

    // A changed expression takes effect at once: the next ten-minute boundary, UTC.
    f.ok(
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "cron(0/10 * * * ? *)"}),
    )
    .await;
    let now = f.now_s();
    let boundary = (now / 600 + 1) * 600;
    sleep(secs(boundary - now - 1)).await;
    assert!(f.drain(&url).await.is_empty());
    sleep(secs(2)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["time"], iso_seconds(boundary as i64));

    // Deleted: nothing more.
    f.ok("RemoveTargets", json!({"Rule": "tick", "Ids": ["q"]}))
        .await;
    f.ok("DeleteRule", json!({"Name": "tick"})).await;
    sleep(secs(3_600)).await;
    assert!(f.drain(&url).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn only_the_rules_own_targets_get_its_scheduled_event() {
    let f = Ferry::fresh();
    let (url, arn) = f.queue("watcher").await;
    // A pattern rule for scheduled events does not see another rule's firing: the event is
    // not put on the bus.
    f.ok(
        "PutRule",
        json!({"Name": "all-aws", "EventPattern": "{\"source\":[\"aws.events\"]}"}),
    )
    .await;
    f.ok(
        "PutTargets",
        json!({"Rule": "all-aws", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    f.ok(
        "PutRule",
        json!({"Name": "minutely", "ScheduleExpression": "rate(1 minute)"}),
    )
    .await;
    f.ok(
        "PutRule",
        json!({"Name": "off", "ScheduleExpression": "rate(1 minute)", "State": "DISABLED"}),
    )
    .await;
    f.ok(
        "PutTargets",
        json!({"Rule": "off", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    sleep(secs(600)).await;
    assert!(f.drain(&url).await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_restart_neither_fires_twice_nor_fires_a_burst() {
    let store = Arc::new(MemoryStore::default());
    let clock = Clock::new();
    let f = Ferry::open(&store, clock);
    let (url, arn) = f.queue("restart").await;
    let anchor = clock.now_ms();
    f.ok(
        "PutRule",
        json!({"Name": "tick", "ScheduleExpression": "rate(5 minutes)"}),
    )
    .await;
    f.ok(
        "PutTargets",
        json!({"Rule": "tick", "Targets": [{"Id": "q", "Arn": arn}]}),
    )
    .await;
    sleep(secs(301)).await;
    assert_eq!(f.drain(&url).await.len(), 1);
    f.kill();
    // Restarted at once: the slot already fired is not fired again.
    let f = Ferry::open(&store, clock);
    sleep(secs(1)).await;
    assert!(f.drain(&url).await.is_empty());
    f.kill();
    // Down for an hour: one firing for the missed slots, the latest, then the schedule.
    sleep(secs(3_600)).await;
    let f = Ferry::open(&store, clock);
    sleep(secs(1)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    let slot = |k: u64| iso_seconds(((anchor + k * 300_000) / 1000) as i64);
    assert_eq!(got[0]["time"], slot(13));
    sleep(secs(300)).await;
    let got = f.drain(&url).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0]["time"], slot(14));
}

/// A bus `b` with rules `first` and `second` (both for source `app`) into their own queues,
/// and an archive `arch` of the `keep` events.
async fn archive_setup(f: &Ferry) -> (String, String) {
    f.ok("CreateEventBus", json!({"Name": "b"})).await;
    let mut urls = Vec::new();
    for name in ["first", "second"] {
        let (url, arn) = f.queue(&format!("q-{name}")).await;
        f.ok(
            "PutRule",
            json!({"Name": name, "EventBusName": "b", "EventPattern": "{\"source\":[\"app\"]}"}),
        )
        .await;
        f.ok(
            "PutTargets",
            json!({"Rule": name, "EventBusName": "b", "Targets": [{"Id": "q", "Arn": arn}]}),
        )
        .await;
        urls.push(url);
    }
    f.ok(
        "CreateArchive",
        json!({"ArchiveName": "arch", "EventSourceArn": bus_arn("b"),
            "EventPattern": "{\"detail-type\":[\"keep\"]}"}),
    )
    .await;
    (urls.remove(0), urls.remove(0))
}

fn entry(detail_type: &str, n: u32) -> Value {
    json!({"Source": "app", "DetailType": detail_type, "Detail": format!("{{\"n\":{n}}}"),
        "EventBusName": "b"})
}

#[tokio::test(start_paused = true)]
async fn archives_record_matching_events_and_replays_send_them_back() {
    let f = Ferry::fresh();
    let (first, second) = archive_setup(&f).await;
    let start = f.now_s() - 60;
    let out = f
        .ok(
            "PutEvents",
            json!({"Entries": [entry("keep", 1), entry("skip", 2), entry("keep", 3)]}),
        )
        .await;
    assert_eq!(out["FailedEntryCount"], 0);
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(d["EventCount"], 2);
    // 14 (time) + 3 (source) + 4 (detail type) + 7 (detail) per event.
    assert_eq!(d["SizeBytes"], 2 * (14 + 3 + 4 + 7));
    let l = f.ok("ListArchives", json!({"NamePrefix": "arch"})).await;
    assert_eq!(l["Archives"][0]["EventCount"], 2);
    sleep(secs(1)).await;
    assert_eq!(f.drain(&first).await.len(), 3);
    assert_eq!(f.drain(&second).await.len(), 3);
    sleep(secs(120)).await;
    let end = f.now_s();

    // To one rule only.
    let r = f
        .ok(
            "StartReplay",
            json!({"ReplayName": "rp", "EventSourceArn": archive_arn("arch"),
                "EventStartTime": start, "EventEndTime": end,
                "Destination": {"Arn": bus_arn("b"), "FilterArns": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/b/first")]}}),
        )
        .await;
    assert_eq!(r["State"], "STARTING");
    assert_eq!(
        r["ReplayArn"],
        format!("arn:aws:events:{REGION}:{ACCOUNT}:replay/rp")
    );
    sleep(secs(1)).await;
    let d = f.ok("DescribeReplay", json!({"ReplayName": "rp"})).await;
    assert_eq!(d["State"], "COMPLETED");
    for k in [
        "Destination",
        "EventEndTime",
        "EventLastReplayedTime",
        "EventSourceArn",
        "EventStartTime",
        "ReplayArn",
        "ReplayEndTime",
        "ReplayName",
        "ReplayStartTime",
    ] {
        assert!(d.get(k).is_some(), "{k} in {d}");
    }
    assert_eq!(
        d["Destination"]["FilterArns"],
        json!([format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/b/first")])
    );
    let replayed = f.drain(&first).await;
    assert_eq!(replayed.len(), 2);
    for e in &replayed {
        assert_eq!(e["replay-name"], "rp");
        assert_eq!(e["detail-type"], "keep");
    }
    assert!(f.drain(&second).await.is_empty());
    // Replayed events are not archived again.
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(d["EventCount"], 2);

    // To every rule; an empty window completes with nothing replayed (EB-110).
    f.ok(
        "StartReplay",
        json!({"ReplayName": "rp-all", "EventSourceArn": archive_arn("arch"),
            "EventStartTime": start, "EventEndTime": end, "Destination": {"Arn": bus_arn("b")}}),
    )
    .await;
    f.ok(
        "StartReplay",
        json!({"ReplayName": "rp-empty", "EventSourceArn": archive_arn("arch"),
            "EventStartTime": start - 600, "EventEndTime": start - 300, "Destination": {"Arn": bus_arn("b")}}),
    )
    .await;
    sleep(secs(1)).await;
    assert_eq!(f.drain(&first).await.len(), 2);
    assert_eq!(f.drain(&second).await.len(), 2);
    let d = f
        .ok("DescribeReplay", json!({"ReplayName": "rp-empty"}))
        .await;
    assert_eq!(d["State"], "COMPLETED");
    assert!(d.get("EventLastReplayedTime").is_none());
    assert!(d["Destination"].get("FilterArns").is_none());

    // Listing: prefix, state, source archive, paging (EB-111).
    let l = f.ok("ListReplays", json!({"NamePrefix": "rp-"})).await;
    let names: Vec<&str> = l["Replays"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ReplayName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["rp-all", "rp-empty"]);
    let l = f
        .ok("ListReplays", json!({"State": "COMPLETED", "Limit": 2}))
        .await;
    assert_eq!(l["Replays"].as_array().unwrap().len(), 2);
    let l2 = f
        .ok(
            "ListReplays",
            json!({"State": "COMPLETED", "Limit": 2, "NextToken": l["NextToken"]}),
        )
        .await;
    assert_eq!(l2["Replays"].as_array().unwrap().len(), 1);
    assert!(l2.get("NextToken").is_none());
    let l = f
        .ok(
            "ListReplays",
            json!({"EventSourceArn": archive_arn("nope")}),
        )
        .await;
    assert_eq!(l, json!({"Replays": []}));

    // A finished replay cannot be cancelled.
    let x = f.err("CancelReplay", json!({"ReplayName": "rp"})).await;
    assert_eq!(x.code, ErrorCode::IllegalStatusException);
    // One cancelled before it ran delivers nothing.
    f.ok(
        "StartReplay",
        json!({"ReplayName": "rp-cancel", "EventSourceArn": archive_arn("arch"),
            "EventStartTime": start, "EventEndTime": end, "Destination": {"Arn": bus_arn("b")}}),
    )
    .await;
    let c = f
        .ok("CancelReplay", json!({"ReplayName": "rp-cancel"}))
        .await;
    assert_eq!(c["State"], "CANCELLING");
    sleep(secs(1)).await;
    let d = f
        .ok("DescribeReplay", json!({"ReplayName": "rp-cancel"}))
        .await;
    assert_eq!(d["State"], "CANCELLED");
    assert!(f.drain(&first).await.is_empty());

    // DeleteArchive removes its events from the store.
    f.ok("DeleteArchive", json!({"ArchiveName": "arch"})).await;
    let x = f
        .err("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(x.message, "Archive arch does not exist.");
    f.ok(
        "CreateArchive",
        json!({"ArchiveName": "arch", "EventSourceArn": bus_arn("b")}),
    )
    .await;
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(
        (d["EventCount"].clone(), d["SizeBytes"].clone()),
        (json!(0), json!(0))
    );
}

#[tokio::test(start_paused = true)]
async fn start_replay_refuses_as_aws_does() {
    let f = Ferry::fresh();
    archive_setup(&f).await;
    f.ok("CreateEventBus", json!({"Name": "other"})).await;
    let now = f.now_s();
    let start = |name: &str, from: u64, to: u64, dest: Value| {
        json!({"ReplayName": name, "EventSourceArn": archive_arn("arch"),
            "EventStartTime": from, "EventEndTime": to, "Destination": dest})
    };
    let b = json!({"Arn": bus_arn("b")});
    let cases = [
        // EB-116
        (
            start("r", now - 10, now - 10, b.clone()),
            ErrorCode::ValidationException,
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.".to_string(),
        ),
        (
            start("r", now - 10, now - 20, b.clone()),
            ErrorCode::ValidationException,
            "Parameter EventEndTime is not valid. Reason: EventStartTime must be before EventEndTime.".into(),
        ),
        (
            start("r", now - 10, now + 60, b.clone()),
            ErrorCode::ValidationException,
            "Parameter EventEndTime is not valid. Reason: EventEndTime cannot be in the future.".into(),
        ),
        (
            json!({"ReplayName": "r", "EventSourceArn": archive_arn("nope"), "EventStartTime": now - 60,
                "EventEndTime": now, "Destination": b.clone()}),
            ErrorCode::EventsResourceNotFound,
            "Archive nope does not exist.".into(),
        ),
        // EB-113
        (
            start("r", now - 60, now, json!({"Arn": bus_arn("missing")})),
            ErrorCode::EventsResourceNotFound,
            "Event bus missing does not exist.".into(),
        ),
        (
            start("r", now - 60, now, json!({"Arn": bus_arn("other")})),
            ErrorCode::ValidationException,
            "Parameter Destination.Arn is not valid. Reason: Cross event bus replay is not permitted.".into(),
        ),
        (
            start("r", now - 60, now, json!({"Arn": bus_arn("b"), "FilterArns": [format!("arn:aws:events:{REGION}:{ACCOUNT}:rule/b/ghost")]})),
            ErrorCode::EventsResourceNotFound,
            "Rule ghost does not exist on EventBus b.".into(),
        ),
        (
            start("r", now - 60, now, json!({"Arn": bus_arn("b"), "FilterArns": [rule_arn("first")]})),
            ErrorCode::ValidationException,
            format!("Parameter Destination.FilterArns is not valid. Reason: {} is not the ARN of a rule on event bus b.", rule_arn("first")),
        ),
        (
            start("bad name!", now - 60, now, b.clone()),
            ErrorCode::ValidationException,
            "1 validation error detected: Value 'bad name!' at 'replayName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+".into(),
        ),
    ];
    for (input, code, message) in cases {
        let x = f.err("StartReplay", input.clone()).await;
        assert_eq!(
            (x.code, x.message.as_str()),
            (code, message.as_str()),
            "{input}"
        );
    }
    // EB-115: names are unique per account and region.
    f.ok("StartReplay", start("dup", now - 60, now, b.clone()))
        .await;
    let x = f
        .err("StartReplay", start("dup", now - 60, now, b.clone()))
        .await;
    assert_eq!(x.code, ErrorCode::ResourceAlreadyExistsException);
    assert_eq!(x.message, "Replay dup already exists.");
    // At most ten replays STARTING or RUNNING at once (the runner has not run yet: no await
    // has yielded since these calls).
    for i in 1..10 {
        f.ok(
            "StartReplay",
            start(&format!("many-{i}"), now - 60, now, b.clone()),
        )
        .await;
    }
    let x = f
        .err("StartReplay", start("eleventh", now - 60, now, b.clone()))
        .await;
    assert_eq!(x.code, ErrorCode::LimitExceededException);
    sleep(secs(1)).await;
    f.ok("StartReplay", start("eleventh", now - 60, now, b.clone()))
        .await;
    // EB-118
    let x = f.err("DescribeReplay", json!({"ReplayName": "zz"})).await;
    assert_eq!(x.message, "Replay zz does not exist.");
    let x = f.err("CancelReplay", json!({"ReplayName": "zz"})).await;
    assert_eq!(x.code, ErrorCode::EventsResourceNotFound);
}

#[tokio::test(start_paused = true)]
async fn retention_ages_archived_events_out() {
    let f = Ferry::fresh();
    archive_setup(&f).await;
    f.ok(
        "UpdateArchive",
        json!({"ArchiveName": "arch", "RetentionDays": 1}),
    )
    .await;
    f.ok(
        "CreateArchive",
        json!({"ArchiveName": "forever", "EventSourceArn": bus_arn("b")}),
    )
    .await;
    f.ok("PutEvents", json!({"Entries": [entry("keep", 1)]}))
        .await;
    let count = |d: Value| d["EventCount"].as_u64().unwrap();
    sleep(secs(23 * 3_600)).await;
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(count(d), 1);
    sleep(secs(2 * 3_600 + 1)).await;
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!((count(d.clone()), d["SizeBytes"].clone()), (0, json!(0)));
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "forever"}))
        .await;
    assert_eq!(count(d), 1);
}

#[tokio::test(start_paused = true)]
async fn archives_and_replays_survive_a_restart() {
    let store = Arc::new(MemoryStore::default());
    let clock = Clock::new();
    let f = Ferry::open(&store, clock);
    let (first, _) = archive_setup(&f).await;
    let start = f.now_s() - 60;
    f.ok(
        "PutEvents",
        json!({"Entries": [entry("keep", 1), entry("keep", 2)]}),
    )
    .await;
    sleep(secs(1)).await;
    assert_eq!(f.drain(&first).await.len(), 2);
    let end = f.now_s();
    // Started, then the process dies before the replay ran.
    f.ok(
        "StartReplay",
        json!({"ReplayName": "rp", "EventSourceArn": archive_arn("arch"),
            "EventStartTime": start, "EventEndTime": end, "Destination": {"Arn": bus_arn("b")}}),
    )
    .await;
    f.kill();
    let f = Ferry::open(&store, clock);
    let d = f
        .ok("DescribeArchive", json!({"ArchiveName": "arch"}))
        .await;
    assert_eq!(d["EventCount"], 2);
    sleep(secs(1)).await;
    let d = f.ok("DescribeReplay", json!({"ReplayName": "rp"})).await;
    assert_eq!(d["State"], "COMPLETED");
    let got = f.drain(&first).await;
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|e| e["replay-name"] == "rp"));
    // The archive's events are records of the message log's family.
    let mut n = 0;
    store
        .scan(&[keys::ARCHIVED], &mut |_, _| {
            n += 1;
            Ok(())
        })
        .unwrap();
    assert_eq!(n, 2);
    assert!(keys::is_hot(keys::ARCHIVED));
}
