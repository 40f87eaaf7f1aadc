//! Work spread over every core, results taken in order. In: a producer that yields batches (it
//! runs on a thread of its own, and may read a file), a pure function of a batch, and a sink that
//! takes each result in the order the batches were made (on the calling thread, so it may hold
//! what is not `Send`, like the open output). Out: the producer's own result once every batch
//! is taken. Guarantees: at most `AHEAD` batches are made and not yet taken, whatever the input's
//! size, so memory is bounded; an error or a panic anywhere stops the producer and the workers
//! and is returned, never a hang.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use crate::error::{Error, Result};

/// Batches made and not yet taken by the sink.
const AHEAD: usize = 8;

/// What the producer hands on: each batch, in order.
pub struct Batches<B> {
    tx: SyncSender<(u64, B)>,
    permits: Receiver<()>,
    next: u64,
}

impl<B> Batches<B> {
    /// Hand on the next batch; `false` when the work has stopped (the caller should stop too).
    pub fn send(&mut self, batch: B) -> bool {
        if self.permits.recv().is_err() {
            return false;
        }
        let seq = self.next;
        self.next += 1;
        self.tx.send((seq, batch)).is_ok()
    }
}

/// Run `produce` on its own thread, `work` on every core, `take` here in batch order.
pub fn map_in_order<B: Send, O: Send, P: Send>(
    produce: impl FnOnce(&mut Batches<B>) -> Result<P> + Send,
    work: impl Fn(B) -> O + Sync,
    mut take: impl FnMut(O) -> Result<()>,
) -> Result<P> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get().clamp(1, 16));
    let (jobs_tx, jobs_rx) = sync_channel::<(u64, B)>(workers);
    let (done_tx, done_rx) = sync_channel::<(u64, Option<O>)>(workers);
    let (permit_tx, permit_rx) = sync_channel::<()>(AHEAD);
    for _ in 0..AHEAD {
        let _ = permit_tx.try_send(());
    }
    let jobs_rx = Arc::new(Mutex::new(jobs_rx));
    std::thread::scope(|s| {
        let work = &work;
        let mut handles = Vec::new();
        for _ in 0..workers {
            let (rx, tx) = (jobs_rx.clone(), done_tx.clone());
            handles.push(s.spawn(move || run_worker(&rx, &tx, work)));
        }
        drop((jobs_rx, done_tx));
        let producer = s.spawn(move || {
            let mut batches = Batches {
                tx: jobs_tx,
                permits: permit_rx,
                next: 0,
            };
            produce(&mut batches)
        });
        let taken = take_in_order(done_rx, &permit_tx, &mut take);
        // The sink has stopped: freeing the permits' channel ends a waiting producer.
        drop(permit_tx);
        let produced = producer
            .join()
            .unwrap_or_else(|_| Err(stopped("the reader")));
        for handle in handles {
            // A worker's panic was caught and sent on as `None`; joined so none outlives this.
            let _ = handle.join();
        }
        taken.and(produced)
    })
}

/// Take batches until there are none; a panic is sent on as `None`, so the sink stops at once
/// instead of waiting for a result that will never come.
fn run_worker<B, O>(
    jobs: &Mutex<Receiver<(u64, B)>>,
    done: &SyncSender<(u64, Option<O>)>,
    work: &impl Fn(B) -> O,
) {
    loop {
        let job = match jobs.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        let Ok((seq, batch)) = job else { return };
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(batch))).ok();
        let failed = out.is_none();
        if done.send((seq, out)).is_err() || failed {
            return;
        }
    }
}

/// Results put back in order and taken; a permit returned for each.
fn take_in_order<O>(
    done: Receiver<(u64, Option<O>)>,
    permits: &SyncSender<()>,
    take: &mut impl FnMut(O) -> Result<()>,
) -> Result<()> {
    let mut waiting: BTreeMap<u64, O> = BTreeMap::new();
    let mut next = 0u64;
    for (seq, out) in done {
        let out = out.ok_or_else(|| stopped("a worker"))?;
        waiting.insert(seq, out);
        while let Some(out) = waiting.remove(&next) {
            next += 1;
            take(out)?;
            let _ = permits.try_send(());
        }
    }
    if waiting.is_empty() {
        Ok(())
    } else {
        Err(stopped("a worker"))
    }
}

fn stopped(who: &str) -> Error {
    Error::Internal(format!(
        "{who} stopped unexpectedly ({})",
        crate::error::last_panic()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_in_batch_order_though_later_batches_finish_first() {
        // Later batches are quicker, so they finish first; the sink still sees 0, 1, 2, ….
        let mut seen = Vec::new();
        let produced = map_in_order(
            |b: &mut Batches<u64>| {
                for i in 0..200 {
                    if !b.send(i) {
                        break;
                    }
                }
                Ok("read")
            },
            |i| {
                std::thread::sleep(std::time::Duration::from_micros(200 - i));
                i * 2
            },
            |o| {
                seen.push(o);
                Ok(())
            },
        );
        assert_eq!(produced.unwrap(), "read");
        assert_eq!(seen, (0..200).map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_of_the_sink_or_the_producer_stops_everything() {
        let sink_fails = map_in_order(
            |b: &mut Batches<u32>| {
                let mut sent = 0;
                while b.send(sent) {
                    sent += 1;
                }
                Ok(sent)
            },
            |i| i,
            |i| {
                if i == 5 {
                    Err(Error::Internal("sink".into()))
                } else {
                    Ok(())
                }
            },
        );
        assert!(sink_fails.unwrap_err().to_string().contains("sink"));
        let producer_fails = map_in_order(
            |b: &mut Batches<u32>| {
                b.send(1);
                Err::<(), _>(Error::Internal("producer".into()))
            },
            |i| i,
            |_| Ok(()),
        );
        assert!(producer_fails.unwrap_err().to_string().contains("producer"));
    }

    #[test]
    fn a_panicking_worker_is_an_error_not_a_hang() {
        let out = map_in_order(
            |b: &mut Batches<u32>| {
                for i in 0..50 {
                    if !b.send(i) {
                        break;
                    }
                }
                Ok(())
            },
            |i| {
                assert!(i != 7, "boom");
                i
            },
            |_| Ok(()),
        );
        assert!(out.is_err());
    }
}
