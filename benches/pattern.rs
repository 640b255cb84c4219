//! Matching throughput of a compiled rule set, by rule kind and rule count.
//!
//! Events are generated GeoJSON-like city-lot records of about 1 KB (the shape of AWS
//! event-ruler's citylots benchmark), wrapped in an EventBridge envelope. For each kind of rule
//! (exact, prefix, numeric, anything-but, wildcard, `$or`) we compile 1, 100, 1,000 and 10,000
//! rules into one `RuleSet` and measure events matched per second on one thread. About half of the
//! events match some rule. `parse/hostile-wildcard`: what the "too complex" check costs. Run with `cargo bench --bench pattern`.

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ferry::pattern::{Dialect, Pattern, RuleSet};

const COUNTS: [usize; 4] = [1, 100, 1_000, 10_000];
const EVENTS: usize = 2_000;

/// A tiny deterministic generator so the data set is the same on every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn coord(&mut self, base: f64) -> String {
        format!("{:.15}", base + self.below(1_000_000) as f64 / 1e8)
    }
}

/// One city-lot event; `k` picks which rule (of up to `span`) it is aimed at.
fn event(rng: &mut Lcg, k: u64) -> String {
    let mut ring = Vec::new();
    for _ in 0..11 {
        ring.push(format!("[{},{},0.0]", rng.coord(-122.42), rng.coord(37.80)));
    }
    format!(
        concat!(
            r#"{{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf37034{k:05}","detail-type":"city lot","#,
            r#""source":"city.lots","account":"123456789012","time":"2024-05-01T12:00:00Z","#,
            r#""region":"us-east-1","resources":["arn:aws:lots:us-east-1:123456789012:lot/{k}"],"#,
            r#""detail":{{"type":"Feature","properties":{{"MAPBLKLOT":"{k:07}","BLKLOT":"B{k}","#,
            r#""BLOCK_NUM":"{k}","LOT_NUM":"{lot:03}","FROM_ST":"{from}","TO_ST":"{to}","#,
            r#""STREET":"STREET {k} AVE","ST_TYPE":null,"ODD_EVEN":"{oe}","AREA":{area}.5}},"#,
            r#""geometry":{{"type":"Polygon","coordinates":[[{ring}]]}}}}}}"#
        ),
        k = k,
        lot = rng.below(999),
        from = rng.below(3000),
        to = rng.below(3000),
        oe = if k.is_multiple_of(2) { "E" } else { "O" },
        area = k * 10 + rng.below(10),
        ring = ring.join(","),
    )
}

fn rule(kind: &str, i: usize) -> String {
    match kind {
        "exact" => format!(
            r#"{{"source":["city.lots"],"detail":{{"properties":{{"STREET":["STREET {i} AVE"]}}}}}}"#
        ),
        "prefix" => {
            format!(r#"{{"detail":{{"properties":{{"MAPBLKLOT":[{{"prefix":"{i:07}"}}]}}}}}}"#)
        }
        "numeric" => format!(
            r#"{{"detail":{{"properties":{{"AREA":[{{"numeric":[">=",{},"<",{}]}}]}}}}}}"#,
            i * 10,
            i * 10 + 10
        ),
        "anything-but" => format!(
            r#"{{"detail":{{"properties":{{"BLOCK_NUM":["{i}"],"ODD_EVEN":[{{"anything-but":["X","Y"]}}],"STREET":[{{"anything-but":{{"prefix":"AVENUE"}}}}]}}}}}}"#
        ),
        "wildcard" => {
            format!(r#"{{"detail":{{"properties":{{"STREET":[{{"wildcard":"STREET {i} *"}}]}}}}}}"#)
        }
        "or" => format!(
            r#"{{"source":["city.lots"],"$or":[{{"detail":{{"properties":{{"BLKLOT":["B{i}"]}}}}}},{{"detail":{{"properties":{{"MAPBLKLOT":["M{i}"],"AREA":[{{"numeric":[">",0]}}]}}}}}}]}}"#
        ),
        other => panic!("unknown rule kind {other}"),
    }
}

fn bench(c: &mut Criterion) {
    let mut rng = Lcg(42);
    let sample = event(&mut rng, 1234);
    eprintln!("event size: {} bytes", sample.len());
    for kind in [
        "exact",
        "prefix",
        "numeric",
        "anything-but",
        "wildcard",
        "or",
    ] {
        let mut group = c.benchmark_group(format!("match/{kind}"));
        group
            .sample_size(20)
            .warm_up_time(Duration::from_millis(500))
            .measurement_time(Duration::from_secs(2))
            .throughput(Throughput::Elements(1));
        for &n in &COUNTS {
            let mut set = RuleSet::new();
            for i in 0..n {
                let p = Pattern::parse(&rule(kind, i), Dialect::EventBridge).expect("rule");
                set.insert(i, p);
            }
            set.compile();
            // Events aimed at rules 0..2n, so about half of them match one rule.
            let events: Vec<String> = (0..EVENTS)
                .map(|_| {
                    let k = rng.below(2 * n as u64);
                    event(&mut rng, k)
                })
                .collect();
            let hits: usize = events.iter().map(|e| set.matches(e).len()).sum();
            eprintln!("{kind} x{n}: {hits} matches over {EVENTS} events");
            let mut at = 0;
            group.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, _| {
                b.iter(|| {
                    at = (at + 1) % events.len();
                    black_box(set.matches(black_box(&events[at])))
                })
            });
        }
        group.finish();
    }
}

/// What a hostile wildcard pattern costs PutRule: the "too complex" check's search is bounded,
/// whatever the pattern's length.
fn hostile(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse/hostile-wildcard");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(200))
        .measurement_time(Duration::from_secs(2));
    let distinct: String = (0..200u8)
        .map(|i| format!("*{}", (b'a' + i % 26) as char))
        .collect();
    for (name, w) in [
        ("star-a-x600", "*a".repeat(600)),
        ("distinct-x200", distinct),
    ] {
        let pattern = format!(r#"{{"detail":{{"f":[{{"wildcard":"{w}"}}]}}}}"#);
        group.bench_function(name, |b| {
            b.iter(|| black_box(Pattern::parse(black_box(&pattern), Dialect::EventBridge).is_err()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench, hostile);
criterion_main!(benches);
