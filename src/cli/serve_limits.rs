//! The flags of `cella serve` that set the limits on clients ([`cella_server::Limits`]).

use super::error::CliError;
use cella_server::Limits;
use std::time::Duration;

/// Limits against slow or greedy clients (`cella serve`); each defaults to
/// [`Limits::default`].
#[derive(Debug, Clone, Default, clap::Args)]
pub struct LimitArgs {
    /// Most connections open at once (default 256); one more is closed as soon as it is
    /// accepted.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub max_connections: Option<usize>,
    /// Most concurrent requests (HTTP/2 streams) per connection (default 64); clients queue
    /// the rest.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub max_streams: Option<u32>,
    /// Most StreamState and StreamEvents streams open at once, all clients together (default
    /// 32); one more is refused with RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", help_heading = "Limits")]
    pub max_subscribers: Option<usize>,
    /// Close a connection on which the client sent nothing for this long, s (default 120; 0:
    /// never).
    #[arg(long, value_name = "SECONDS", help_heading = "Limits")]
    pub idle_timeout: Option<f64>,
    /// Ping every connection this often (HTTP/2 PING), s (default 30; 0: never).
    #[arg(long, value_name = "SECONDS", help_heading = "Limits")]
    pub keepalive_interval: Option<f64>,
    /// Close a connection whose client leaves a keepalive ping unanswered this long, s
    /// (default 20).
    #[arg(long, value_name = "SECONDS", help_heading = "Limits")]
    pub keepalive_timeout: Option<f64>,
    /// TCP keepalive on accepted sockets: idle time before the kernel probes, s (default 60;
    /// 0: off).
    #[arg(long, value_name = "SECONDS", help_heading = "Limits")]
    pub tcp_keepalive: Option<f64>,
    /// Answer DEADLINE_EXCEEDED to a unary request still running after this long, s (default:
    /// no bound; a client's shorter grpc-timeout wins).
    #[arg(long, value_name = "SECONDS", help_heading = "Limits")]
    pub request_timeout: Option<f64>,
}

/// `seconds` as a duration, `None` for 0 when `zero_is_off`; bad input names the flag.
fn duration(flag: &str, seconds: f64, zero_is_off: bool) -> Result<Option<Duration>, CliError> {
    if zero_is_off && seconds == 0.0 {
        return Ok(None);
    }
    match Duration::try_from_secs_f64(seconds) {
        Ok(d) if !d.is_zero() => Ok(Some(d)),
        _ => Err(CliError::Input(format!(
            "--{flag} {seconds}: not a positive number of seconds{}",
            if zero_is_off { " (or 0: off)" } else { "" }
        ))),
    }
}

impl LimitArgs {
    /// The limits the flags ask for, the defaults where they say nothing.
    pub fn limits(&self) -> Result<Limits, CliError> {
        let mut l = Limits::default();
        if let Some(n) = self.max_connections {
            l.max_connections = n;
        }
        if let Some(n) = self.max_streams {
            l.max_concurrent_streams = n;
        }
        if let Some(n) = self.max_subscribers {
            l.max_subscribers = n;
        }
        if let Some(s) = self.idle_timeout {
            l.idle_timeout = duration("idle-timeout", s, true)?;
        }
        if let Some(s) = self.keepalive_interval {
            l.http2_keepalive_interval = duration("keepalive-interval", s, true)?;
        }
        if let Some(s) = self.keepalive_timeout
            && let Some(d) = duration("keepalive-timeout", s, false)?
        {
            l.http2_keepalive_timeout = d;
        }
        if let Some(s) = self.tcp_keepalive {
            l.tcp_keepalive = duration("tcp-keepalive", s, true)?;
        }
        if let Some(s) = self.request_timeout {
            l.request_timeout = duration("request-timeout", s, true)?;
        }
        if l.max_connections == 0 || l.max_concurrent_streams == 0 {
            return Err(CliError::Input(
                "--max-connections and --max-streams: at least 1 (nothing could be served)".into(),
            ));
        }
        Ok(l)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_flag_is_the_default_limits() {
        assert_eq!(LimitArgs::default().limits(), Ok(Limits::default()));
    }

    #[test]
    fn each_flag_sets_its_limit_and_zero_turns_a_timeout_off() {
        let a = LimitArgs {
            max_connections: Some(3),
            max_streams: Some(4),
            max_subscribers: Some(0),
            idle_timeout: Some(0.0),
            keepalive_interval: Some(0.5),
            keepalive_timeout: Some(2.0),
            tcp_keepalive: Some(0.0),
            request_timeout: Some(90.0),
        };
        let l = a.limits().unwrap_or_default();
        assert_eq!(l.max_connections, 3);
        assert_eq!(l.max_concurrent_streams, 4);
        assert_eq!(l.max_subscribers, 0);
        assert_eq!(l.idle_timeout, None);
        assert_eq!(l.http2_keepalive_interval, Some(Duration::from_millis(500)));
        assert_eq!(l.http2_keepalive_timeout, Duration::from_secs(2));
        assert_eq!(l.tcp_keepalive, None);
        assert_eq!(l.request_timeout, Some(Duration::from_secs(90)));
    }

    #[test]
    fn bad_values_are_input_errors_naming_the_flag() {
        for (a, flag) in [
            (
                LimitArgs {
                    idle_timeout: Some(-1.0),
                    ..LimitArgs::default()
                },
                "--idle-timeout",
            ),
            (
                LimitArgs {
                    keepalive_timeout: Some(0.0),
                    ..LimitArgs::default()
                },
                "--keepalive-timeout",
            ),
            (
                LimitArgs {
                    request_timeout: Some(f64::NAN),
                    ..LimitArgs::default()
                },
                "--request-timeout",
            ),
            (
                LimitArgs {
                    tcp_keepalive: Some(1e300),
                    ..LimitArgs::default()
                },
                "--tcp-keepalive",
            ),
            (
                LimitArgs {
                    max_connections: Some(0),
                    ..LimitArgs::default()
                },
                "--max-connections",
            ),
        ] {
            match a.limits() {
                Err(CliError::Input(m)) => assert!(m.contains(flag), "{m}"),
                other => panic!("{flag}: {other:?}"),
            }
        }
    }
}
