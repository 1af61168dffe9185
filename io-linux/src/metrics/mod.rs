//! Native metrics (`--metrics ADDR:PORT`): the parent serves `/metrics` (the Prometheus
//! text format, with the keepalived exporter's names), `/healthz` and `/status` (the
//! JSON state dump) over HTTP, and asks each child for its part.
//!
//! ```text
//!  scraper ──HTTP──▶ parent: http thread ──query channel (fd 4)──▶ child: query thread
//!                                                                   │ Query, over a channel
//!                                                                   ▼
//!                                                  event loop: Platform::answer(engine)
//!                                                     (a snapshot; nothing rendered)
//! ```
//!
//! Nothing of a scrape runs on an event loop but the copy of the engine's counters the
//! answer needs: the HTTP parsing is the parent's, the rendering the child's query
//! thread's. What the platforms measure themselves ([`live`]) is recorded into shared
//! handles the query thread reads.

pub mod channel;
pub mod http;
pub mod live;
pub mod render;

use std::sync::mpsc::{sync_channel, SyncSender};

use keepalived_driver::Query;
use keepalived_engine::check::{RsStatus, VsStatus};
use keepalived_engine::vrrp::metrics::Snapshot;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tracing::warn;

use channel::{Answer, Ask, ANSWER_TIMEOUT};
use live::{CheckLive, VrrpLive};

/// A question the query thread hands its event loop, and where the answer goes.
#[derive(Debug)]
pub struct Asked<A> {
    pub query: Query,
    pub reply: SyncSender<A>,
    /// When the asker stops waiting: a question the loop reaches later (it was stalled)
    /// is dropped unanswered rather than answered for nobody.
    pub until: std::time::Instant,
}

impl<A> Asked<A> {
    pub fn expired(&self) -> bool {
        std::time::Instant::now() >= self.until
    }
}

/// What the VRRP loop answers with.
#[derive(Debug)]
pub enum VrrpAnswer {
    Snapshot(Snapshot),
    Status(String),
}

/// What the checker loop answers with: its virtual and real servers.
#[derive(Debug)]
pub struct CheckAnswer {
    pub virtual_servers: Vec<VsStatus>,
    pub real_servers: Vec<RsStatus>,
}

/// The questions a child's loop receives, and what its platform records into.
pub struct ChildMetrics<A, L> {
    pub questions: UnboundedReceiver<Asked<A>>,
    pub live: L,
}

/// Asks the loop through `tx`, waiting a little less than the parent does, so that a
/// late loop is said as such rather than as a dead child.
fn ask_loop<A>(tx: &UnboundedSender<Asked<A>>, query: Query) -> Result<A, Answer> {
    let (reply, rx) = sync_channel(1);
    let gone = || Answer {
        ok: false,
        body: "the event loop is stopping".into(),
    };
    let wait = ANSWER_TIMEOUT.mul_f32(0.9);
    let until = std::time::Instant::now() + wait;
    tx.send(Asked {
        query,
        reply,
        until,
    })
    .map_err(|_| gone())?;
    rx.recv_timeout(wait).map_err(|_| Answer {
        ok: false,
        body: "the event loop did not answer in time".into(),
    })
}

/// In the VRRP child: answers the parent's questions, if it asked for metrics.
pub fn vrrp_child() -> Option<ChildMetrics<VrrpAnswer, VrrpLive>> {
    let stream = channel::take_in_child()?;
    let (tx, questions) = unbounded_channel();
    let live = VrrpLive::default();
    let ours = live.clone();
    let served = channel::serve(stream, move |ask| {
        let query = match ask {
            Ask::Status => Query::Status,
            Ask::Metrics | Ask::Health => Query::Snapshot,
        };
        match (ask, ask_loop(&tx, query)) {
            (_, Err(a)) => a,
            (Ask::Metrics, Ok(VrrpAnswer::Snapshot(s))) => Answer {
                ok: true,
                body: render::vrrp(s, &ours),
            },
            (Ask::Health, Ok(VrrpAnswer::Snapshot(s))) => {
                let (ok, body) = render::vrrp_health(&s);
                Answer { ok, body }
            }
            (Ask::Status, Ok(VrrpAnswer::Status(json))) => Answer {
                ok: true,
                body: json,
            },
            (_, Ok(_)) => Answer {
                ok: false,
                body: "the loop answered another question".into(),
            },
        }
    });
    if let Err(e) = served {
        warn!("metrics: cannot start the query thread: {e}");
        return None;
    }
    Some(ChildMetrics { questions, live })
}

/// In the checker child: answers the parent's questions, if it asked for metrics.
pub fn checker_child() -> Option<ChildMetrics<CheckAnswer, CheckLive>> {
    let stream = channel::take_in_child()?;
    let (tx, questions) = unbounded_channel();
    let live = CheckLive::default();
    let ours = live.clone();
    let served = channel::serve(stream, move |ask| {
        if ask == Ask::Status {
            return Answer {
                ok: false,
                body: "the checker has no JSON dump".into(),
            };
        }
        match ask_loop::<CheckAnswer>(&tx, Query::Snapshot) {
            Err(a) => a,
            Ok(c) if ask == Ask::Health => {
                let (ok, body) = render::checker_health(&c.virtual_servers, &c.real_servers);
                Answer { ok, body }
            }
            Ok(c) => Answer {
                ok: true,
                body: render::checker(c.virtual_servers, c.real_servers, &ours),
            },
        }
    });
    if let Err(e) = served {
        warn!("metrics: cannot start the query thread: {e}");
        return None;
    }
    Some(ChildMetrics { questions, live })
}

/// The next question still waited for, or never without metrics. Cancel-safe.
pub async fn next_question<A>(questions: &mut Option<UnboundedReceiver<Asked<A>>>) -> Asked<A> {
    let Some(q) = questions else {
        return std::future::pending().await;
    };
    loop {
        match q.recv().await {
            Some(a) if a.expired() => continue,
            Some(a) => return a,
            None => return std::future::pending().await,
        }
    }
}
