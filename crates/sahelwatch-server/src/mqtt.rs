//! Positions over MQTT. Each device publishes to its own topic,
//! `{prefix}/devices/{device}/position`, a JSON position as in
//! `POST /api/v1/positions` (the `device` field may be left out: the topic
//! names it; a different one is refused). The server subscribes to
//! `{prefix}/devices/+/position` with QoS 1, so that positions from unknown
//! devices are seen, refused and counted too.
//!
//! Acknowledgements are manual: the broker gets the PUBACK of a message
//! only once its position is committed (or refused for good), and the
//! session is persistent (`clean_session = false`), so positions published
//! while this server is down or restarting wait at the broker and are
//! delivered when it is back. Each result is published, QoS 0, to
//! `{prefix}/devices/{device}/result`.

use crate::AppState;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, Publish, QoS};
use sahelwatch_app::tracker::{PositionResult, Source, parse_json_position};
use std::time::Duration;
use tokio::sync::mpsc;

/// Most messages handed to the intake at once.
const BATCH: usize = 500;

/// Where and how to subscribe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttConfig {
    pub host: String,
    pub port: u16,
    /// Topic prefix (default `sahelwatch`).
    pub prefix: String,
    /// The client id; the broker keeps the session (and waiting positions) under it.
    pub client_id: String,
}

impl MqttConfig {
    /// From `host:port`.
    pub fn parse(addr: &str, prefix: &str, client_id: &str) -> Result<MqttConfig, String> {
        let (host, port) = addr
            .rsplit_once(':')
            .ok_or_else(|| format!("'{addr}' is not host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| format!("'{addr}': the port is not a number"))?;
        if host.is_empty() {
            return Err(format!("'{addr}': the host is empty"));
        }
        if prefix.is_empty() || prefix.contains(['+', '#']) {
            return Err(format!(
                "topic prefix '{prefix}' must be non-empty, without + or #"
            ));
        }
        Ok(MqttConfig {
            host: host.to_string(),
            port,
            prefix: prefix.trim_end_matches('/').to_string(),
            client_id: client_id.to_string(),
        })
    }
}

/// The device a position topic names.
fn device_of<'t>(prefix: &str, topic: &'t str) -> Option<&'t str> {
    topic
        .strip_prefix(prefix)?
        .strip_prefix("/devices/")?
        .strip_suffix("/position")
        .filter(|d| !d.is_empty() && !d.contains('/'))
}

/// Subscribes and feeds the intake until the process ends; reconnects by
/// itself after the broker goes away.
pub async fn run(state: AppState, cfg: MqttConfig) {
    let mut opts = MqttOptions::new(&cfg.client_id, &cfg.host, cfg.port);
    opts.set_keep_alive(Duration::from_secs(30));
    opts.set_clean_session(false);
    opts.set_manual_acks(true);
    opts.set_max_packet_size(64 * 1024, 64 * 1024);
    let (client, mut events): (AsyncClient, EventLoop) = AsyncClient::new(opts, 1024);
    let (tx, rx) = mpsc::channel::<Publish>(4096);
    tokio::spawn(worker(state, cfg.clone(), client.clone(), rx));
    let filter = format!("{}/devices/+/position", cfg.prefix);
    let mut down_since: Option<std::time::Instant> = None;
    loop {
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(broker = %format!("{}:{}", cfg.host, cfg.port), topic = %filter, "MQTT: subscribed");
                down_since = None;
                if let Err(e) = client.subscribe(&filter, QoS::AtLeastOnce).await {
                    tracing::error!(error = %e, "MQTT: cannot subscribe");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if tx.send(p).await.is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => {
                if down_since.is_none() {
                    tracing::warn!(error = %e, "MQTT: broker unreachable; retrying every second");
                    down_since = Some(std::time::Instant::now());
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

async fn worker(
    state: AppState,
    cfg: MqttConfig,
    client: AsyncClient,
    mut rx: mpsc::Receiver<Publish>,
) {
    while let Some(first) = rx.recv().await {
        let mut msgs = vec![first];
        while msgs.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => msgs.push(m),
                Err(_) => break,
            }
        }
        // Parse each; those that cannot be read are answered now.
        let mut parsed = Vec::new();
        let mut readable = Vec::new();
        for m in msgs {
            let topic = m.topic.clone();
            let result = match device_of(&cfg.prefix, &topic) {
                None => Err(PositionResult::refused(
                    "",
                    format!(
                        "topic '{topic}' is not {}/devices/DEVICE/position",
                        cfg.prefix
                    ),
                )),
                Some(device) => match serde_json::from_slice::<serde_json::Value>(&m.payload) {
                    Err(e) => Err(PositionResult::refused(
                        device,
                        format!("the message is not JSON: {e}"),
                    )),
                    Ok(mut v) => {
                        if let Some(o) = v.as_object_mut() {
                            o.entry("device").or_insert_with(|| device.into());
                        }
                        match parse_json_position("message", &v) {
                            Ok(p) if p.device == device => Ok(p),
                            Ok(p) => Err(PositionResult::refused(
                                device,
                                format!(
                                    "the message names device '{}', the topic '{device}'",
                                    p.device
                                ),
                            )),
                            Err((_, e)) => Err(PositionResult::refused(device, e)),
                        }
                    }
                },
            };
            match result {
                Ok(p) => {
                    parsed.push(p);
                    readable.push(m);
                }
                Err(r) => {
                    state.app.count_malformed();
                    answer(&client, &cfg, &m, &r).await;
                }
            }
        }
        if parsed.is_empty() {
            continue;
        }
        // Nothing stored: the same positions are offered again, after 1 s,
        // 2 s, ... up to 30 s, until they are (unacknowledged meanwhile: a
        // broker redelivers them only on a new connection, and its window of
        // unacknowledged messages would fill).
        let mut wait = Duration::from_secs(1);
        let results = loop {
            match state.app.intake(Source::Mqtt, parsed.clone()).await {
                Ok(results) => break results,
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_s = wait.as_secs(), "MQTT: positions not stored yet");
                    tokio::time::sleep(wait).await;
                    wait = (wait * 2).min(Duration::from_secs(30));
                }
            }
        };
        for (m, r) in readable.iter().zip(&results) {
            answer(&client, &cfg, m, r).await;
        }
    }
}

/// Acknowledges a message to the broker and publishes its result.
async fn answer(client: &AsyncClient, cfg: &MqttConfig, m: &Publish, r: &PositionResult) {
    if let Err(e) = client.ack(m).await {
        tracing::warn!(error = %e, "MQTT: cannot acknowledge");
    }
    if !r.device.is_empty()
        && let Ok(body) = serde_json::to_vec(r)
    {
        let topic = format!("{}/devices/{}/result", cfg.prefix, r.device);
        let _ = client.try_publish(topic, QoS::AtMostOnce, false, body);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_name_their_device() {
        assert_eq!(device_of("sw", "sw/devices/trk-1/position"), Some("trk-1"));
        assert_eq!(device_of("sw", "sw/devices//position"), None);
        assert_eq!(device_of("sw", "sw/devices/a/b/position"), None);
        assert_eq!(device_of("sw", "other/devices/a/position"), None);
        assert!(MqttConfig::parse("127.0.0.1:1883", "sahelwatch", "x").is_ok());
        assert!(MqttConfig::parse("127.0.0.1", "sahelwatch", "x").is_err());
        assert!(MqttConfig::parse("127.0.0.1:1883", "a/#", "x").is_err());
    }
}
