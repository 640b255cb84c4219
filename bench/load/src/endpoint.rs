//! Endpoints on the loopback only: benchmark traffic never leaves the machine.

use std::net::{Ipv4Addr, SocketAddr};

/// One broker to load: a label for the report and where it listens.
#[derive(Clone, Debug, PartialEq)]
pub struct Endpoint {
    /// Name in the JSON lines (`ferry`, `moto`, `hello`...).
    pub label: String,
    /// `http://host:port` as given (without a trailing slash), reported as `url`.
    pub url: String,
    /// `host:port`, the Host header and the signed host.
    pub host: String,
    /// Where to connect: always 127.0.0.1 (`localhost` is not resolved, so it cannot leave the box).
    pub addr: SocketAddr,
}

/// Parses `label=http://127.0.0.1:PORT` (or `localhost`); a spec without `label=` is labelled by
/// its host and port. Anything but the loopback is refused.
pub fn parse(spec: &str) -> Result<Endpoint, String> {
    let (label, url) = match spec.split_once('=') {
        Some((l, u)) if !l.is_empty() => (Some(l.to_string()), u),
        Some(_) => return Err(format!("{spec:?}: empty label before '='")),
        None => (None, spec),
    };
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// endpoints are supported"))?;
    let hostport = rest.strip_suffix('/').unwrap_or(rest);
    if hostport.contains('/') || hostport.contains('?') || hostport.contains('@') {
        return Err(format!(
            "{url:?}: give the endpoint as http://127.0.0.1:PORT, without a path"
        ));
    }
    let addr = loopback(hostport)?;
    let url = format!("http://{hostport}");
    Ok(Endpoint {
        label: label.unwrap_or_else(|| hostport.to_string()),
        url,
        host: hostport.to_string(),
        addr,
    })
}

/// `127.0.0.1:PORT` or `localhost:PORT` (port 80 when absent) as a socket address on 127.0.0.1;
/// every other host is an error.
pub fn loopback(hostport: &str) -> Result<SocketAddr, String> {
    let (host, port) = match hostport.rsplit_once(':') {
        Some((h, p)) => {
            let port: u16 = p
                .parse()
                .map_err(|_| format!("{hostport:?}: bad port {p:?}"))?;
            (h, port)
        }
        None => (hostport, 80),
    };
    if host == "127.0.0.1" || host.eq_ignore_ascii_case("localhost") {
        Ok(SocketAddr::from((Ipv4Addr::LOCALHOST, port)))
    } else {
        Err(format!(
            "{hostport:?}: only 127.0.0.1 and localhost are accepted (benchmark traffic stays on the loopback)"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_endpoints_are_accepted() {
        let e = parse("ferry=http://127.0.0.1:4566/").unwrap();
        assert_eq!(e.label, "ferry");
        assert_eq!(e.url, "http://127.0.0.1:4566");
        assert_eq!(e.host, "127.0.0.1:4566");
        assert_eq!(e.addr, "127.0.0.1:4566".parse().unwrap());
        let e = parse("http://localhost:5000").unwrap();
        assert_eq!(
            (e.label.as_str(), e.host.as_str()),
            ("localhost:5000", "localhost:5000")
        );
        assert_eq!(e.addr, "127.0.0.1:5000".parse().unwrap());
        assert_eq!(parse("x=http://127.0.0.1").unwrap().addr.port(), 80);
    }

    #[test]
    fn everything_else_is_refused() {
        for bad in [
            "x=http://10.0.0.1:4566",
            "x=http://example.com:80",
            "x=http://127.0.0.2:80",
            "x=http://[::1]:4566",
            "x=http://0.0.0.0:4566",
            "x=https://127.0.0.1:4566",
            "x=http://127.0.0.1:4566/queue",
            "x=http://user@127.0.0.1:4566",
            "x=http://127.0.0.1:notaport",
            "=http://127.0.0.1:1",
            "x=127.0.0.1:4566",
        ] {
            assert!(parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
