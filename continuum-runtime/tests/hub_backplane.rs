//! The backplane seam: several hubs ("nodes") sharing one ordered stream, as
//! a Redis Streams backplane would. Ids are global, sparse and assigned by the
//! shared stream; a client can reconnect to another node and replay.

mod hub_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use continuum_runtime::backplane::{
    Ack, Backplane, IdempotencyKey, LocalLog, Outgoing, Publishing,
};
use continuum_runtime::hub::SseOptions;
use continuum_runtime::id::{Epoch, EventId};
use continuum_runtime::Hub;
use futures_util::StreamExt;
use hub_support::*;

/// A stand-in for a shared stream: assigns sparse ids (steps of 10, like
/// time-based stream ids) and delivers every entry to every attached node.
struct Shared {
    epoch: Epoch,
    state: Mutex<(u64, Vec<LocalLog>)>,
}

struct Node {
    shared: Arc<Shared>,
    /// This node's place in `Shared::state.1`.
    index: std::sync::OnceLock<usize>,
}

impl Backplane for Node {
    fn attach(&self, log: LocalLog) {
        let mut st = self.shared.state.lock().unwrap();
        // Joining an existing stream: this node has seen nothing before now.
        log.restart(self.shared.epoch, st.0);
        st.1.push(log);
        let _ = self.index.set(st.1.len() - 1);
    }

    fn publish(
        &self,
        _origin: &LocalLog,
        batch: Vec<Outgoing>,
        _key: Option<IdempotencyKey>,
    ) -> Publishing {
        let mut st = self.shared.state.lock().unwrap();
        let mut ids = Vec::new();
        let mut entries = Vec::new();
        for o in batch {
            st.0 += 10;
            let id = EventId::new(self.shared.epoch, st.0);
            ids.push(id);
            entries.push((id, o));
        }
        for (i, log) in st.1.iter().enumerate() {
            // Other nodes get what a stream stores: name, channel, JSON; no typed value.
            let same_node = self.index.get() == Some(&i);
            let events = entries
                .iter()
                .map(|(id, o)| {
                    (
                        *id,
                        Outgoing {
                            value: if same_node { o.value.clone() } else { None },
                            ..o.clone()
                        },
                    )
                })
                .collect();
            log.deliver(events);
        }
        Publishing::ready(Ok(Ack {
            ids,
            replayed: false,
        }))
    }
}

fn cluster(n: usize) -> (Arc<Shared>, Vec<Hub>) {
    let shared = Arc::new(Shared {
        epoch: Epoch::new(0xC1A5),
        state: Mutex::new((0, Vec::new())),
    });
    let hubs = (0..n).map(|_| join(&shared)).collect();
    (shared, hubs)
}

fn join(shared: &Arc<Shared>) -> Hub {
    Hub::builder()
        .replay_capacity(64)
        .backplane(Arc::new(Node {
            shared: shared.clone(),
            index: std::sync::OnceLock::new(),
        }))
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn events_published_on_one_node_reach_subscribers_of_every_node() {
    let (_shared, hubs) = cluster(2);
    let (a, b) = (&hubs[0], &hubs[1]);
    assert_eq!(a.epoch(), b.epoch());
    let mut on_b = parse(b.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut on_b).await.event, "continuum.connected");
    let mut ids: Vec<EventId> = Vec::new();
    for n in 1..=5 {
        ids.push(a.emit(note(n)).await.unwrap());
    }
    assert_eq!(
        ids.iter().map(|i| i.seq()).collect::<Vec<_>>(),
        [10, 20, 30, 40, 50]
    );
    for (n, id) in (1..=5).zip(&ids) {
        let e = next_event(&mut on_b).await;
        assert_eq!((note_n(&e), e.id.clone()), (n, id.to_string()));
    }
}

#[tokio::test(start_paused = true)]
async fn a_client_reconnecting_to_another_node_replays_with_nothing_lost() {
    let (_shared, hubs) = cluster(2);
    let (a, b) = (&hubs[0], &hubs[1]);
    let mut ids: Vec<EventId> = Vec::new();
    for n in 1..=3 {
        ids.push(a.emit(note(n)).await.unwrap());
    }
    b.emit(note(4)).await.unwrap();
    a.emit(note(5)).await.unwrap();
    // The client last saw event 2 (on node A); it reconnects to node B.
    let mut es = parse(b.subscribe_sse(SseOptions::new().last_event_id(ids[1].to_string())));
    let hello = next_event(&mut es).await;
    assert_eq!(hello.event, "continuum.connected");
    for want in 3..=5 {
        assert_eq!(note_n(&next_event(&mut es).await), want);
    }
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
    // An id between two sparse ids is fine too (nothing lies between them).
    let between = EventId::new(a.epoch(), ids[1].seq() + 5);
    let mut es = parse(b.subscribe_sse(SseOptions::new().last_event_id(between.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert_eq!(note_n(&next_event(&mut es).await), 3);
}

#[tokio::test(start_paused = true)]
async fn a_node_that_joins_late_resets_clients_older_than_its_view() {
    let (shared, hubs) = cluster(1);
    let old = hubs[0].emit(note(1)).await.unwrap();
    let joined = hubs[0].emit(note(2)).await.unwrap();
    let c = join(&shared);
    hubs[0].emit(note(3)).await.unwrap();
    // Node C never saw event 2, so it cannot prove a client at 1 missed nothing.
    let mut es = parse(c.subscribe_sse(SseOptions::new().last_event_id(old.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert_eq!(
        json(&next_event(&mut es).await),
        serde_json::json!({"reason": "evicted"})
    );
    // A client at C's join point replays from there.
    let mut es = parse(c.subscribe_sse(SseOptions::new().last_event_id(joined.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert_eq!(note_n(&next_event(&mut es).await), 3);
}

#[tokio::test]
async fn typed_subscribers_decode_events_from_other_nodes() {
    let (_shared, hubs) = cluster(2);
    let mut notes = hubs[1].subscribe::<Note>();
    hubs[0].emit(note(7)).await.unwrap();
    hubs[1].emit(note(8)).await.unwrap();
    assert_eq!(*notes.next().await.unwrap().unwrap(), note(7));
    assert_eq!(*notes.next().await.unwrap().unwrap(), note(8));
}
