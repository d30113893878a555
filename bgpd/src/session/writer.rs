//! The writing half of a session's TCP connection, in a task of its own.
//!
//! A peer task that wrote in line (`write_all` in its own loop) stopped reading while the
//! peer's receive window was full: it processed none of the peer's KEEPALIVEs and UPDATEs
//! until the peer read again, and two such speakers sending each other a table at once could
//! wait on each other until the send hold timer ended both sessions. So the peer task hands
//! each encoded batch to this task and goes on reading; this task writes the batches in order.
//!
//! - **Send hold timer (RFC 9687 §3).** The timer runs while there is something to write and
//!   restarts whenever the peer accepts some of it, so a slow peer that keeps reading is never
//!   dropped, and a peer that accepts nothing for the send hold time is ([`WriteFailure`]).
//! - **Closing.** [`Writer::close`] completes the message being written so the stream stays
//!   framed, drops the queued UPDATEs (the session is over; its routes go with it), writes the
//!   queued OPEN, KEEPALIVE or ROUTE-REFRESH messages (an OPEN error is answered after our
//!   OPEN, RFC 4271 §6.2, as a peer expects), then the final NOTIFICATION if there is one, and
//!   shuts the connection down. Completing costs at most [`CLOSE_GRACE`]; past it, the connection is
//!   closed without the NOTIFICATION, as RFC 9687 §4 allows for a peer that does not read.
//! - **Out queue.** The octets handed over and not yet accepted by the kernel are counted in
//!   a shared counter: the OutQ of `show bgp summary`. When it falls to
//!   [`super::waiting::LOW_WATER`] the task signals it ([`Writer::room`]), so the peer task
//!   can pack the routes that wait for the peer ([`super::waiting`]).

use bytes::Bytes;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

/// How long a closing connection may take to complete the message it was writing and send
/// its NOTIFICATION.
pub const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// Why the connection can no longer be written.
#[derive(Debug)]
pub enum WriteFailure {
    /// The socket returned an error (reset, broken pipe).
    Io(std::io::Error),
    /// RFC 9687: the peer accepted nothing for the send hold time.
    Stalled(Duration),
}

/// One batch to write and the send hold time in force when it was queued.
struct Batch {
    bytes: Bytes,
    send_hold: Duration,
    /// UPDATEs, dropped if the connection closes before they are written.
    updates: bool,
}

/// The handle a session keeps on its connection's writing task.
#[derive(Debug)]
pub struct Writer {
    batches: mpsc::UnboundedSender<Batch>,
    close: Option<oneshot::Sender<Option<Bytes>>>,
    failed: oneshot::Receiver<WriteFailure>,
    level: Level,
    task: Option<JoinHandle<()>>,
}

/// A writer's queue level: the octets queued (the OutQ counter, shared with the peer's
/// status) and the signal that it fell to [`super::waiting::LOW_WATER`]. The writing task
/// releases octets through it; a peer task waits on a clone of it ([`Writer::room`]), apart
/// from the [`Writer`], so that it can wait on it and on [`Writer::failed`] at once.
#[derive(Debug, Clone)]
pub struct Level {
    queued: Arc<AtomicU64>,
    room: Arc<Notify>,
}

impl Level {
    /// Completes once the queue is at or below the low-water mark.
    pub async fn wait(self) {
        loop {
            if self.queued.load(Ordering::Relaxed) <= super::waiting::LOW_WATER {
                return;
            }
            // A permit left by an earlier signal only costs one more look at the counter.
            self.room.notified().await;
        }
    }

    /// Takes `n` written octets off the queue, and signals [`Level::wait`] when the queue
    /// falls to the low-water mark.
    fn release(&self, n: usize) {
        let before = release(&self.queued, n);
        let after = before.saturating_sub(n as u64);
        if before > super::waiting::LOW_WATER && after <= super::waiting::LOW_WATER {
            self.room.notify_one();
        }
    }
}

impl std::fmt::Debug for Batch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Batch({} octets)", self.bytes.len())
    }
}

impl Writer {
    /// Starts the task writing to `half`. `queued` counts the octets not yet written (shared
    /// with the peer's status, so it outlives the connection; it is reset here).
    pub fn spawn(half: OwnedWriteHalf, queued: Arc<AtomicU64>) -> Writer {
        let (batches, rx) = mpsc::unbounded_channel();
        let (close, close_rx) = oneshot::channel();
        let (failed_tx, failed) = oneshot::channel();
        queued.store(0, Ordering::Relaxed);
        let level = Level {
            queued,
            room: Arc::new(Notify::new()),
        };
        let task = tokio::spawn(run(half, rx, close_rx, failed_tx, level.clone()));
        Writer {
            batches,
            close: Some(close),
            failed,
            level,
            task: Some(task),
        }
    }

    /// Octets queued and not yet accepted by the kernel.
    pub fn queued(&self) -> u64 {
        self.level.queued.load(Ordering::Relaxed)
    }

    /// The queue level, to wait on for room ([`Level::wait`]).
    pub fn room(&self) -> Level {
        self.level.clone()
    }

    /// Queues `bytes` (whole messages) behind what is already queued. Returns at once.
    /// `updates`: they are UPDATEs, dropped if the connection closes first (other messages
    /// are still written before the closing NOTIFICATION).
    pub fn send(&self, bytes: Bytes, send_hold: Duration, updates: bool) {
        let len = bytes.len();
        self.level.queued.fetch_add(len as u64, Ordering::Relaxed);
        let batch = Batch {
            bytes,
            send_hold,
            updates,
        };
        if self.batches.send(batch).is_err() {
            // The task has ended (a failure the session is about to read): nothing is queued.
            release(&self.level.queued, len);
        }
    }

    /// Completes when the task can write no more; pending forever otherwise.
    pub async fn failed(&mut self) -> WriteFailure {
        match (&mut self.failed).await {
            Ok(f) => f,
            Err(_) => std::future::pending().await,
        }
    }

    /// Ends the connection: the message being written is completed, the queued UPDATEs are
    /// dropped and the other queued messages written, then `notification` (an encoded
    /// NOTIFICATION) and the connection is shut down. Returns the task, to wait for when the
    /// session's task ends.
    pub fn close(mut self, notification: Option<Bytes>) -> Option<JoinHandle<()>> {
        if let Some(c) = self.close.take() {
            let _ = c.send(notification);
        }
        self.task.take()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Dropped without `close` (the session ended on a read error): close without a
        // NOTIFICATION, in the background.
        if let Some(c) = self.close.take() {
            let _ = c.send(None);
        }
    }
}

/// What ended one batch's writing.
enum Written {
    All,
    Failed(WriteFailure),
    /// Close was asked for; carries the final NOTIFICATION.
    Closing(Option<Bytes>),
}

async fn run(
    mut half: OwnedWriteHalf,
    mut batches: mpsc::UnboundedReceiver<Batch>,
    mut close: oneshot::Receiver<Option<Bytes>>,
    failed: oneshot::Sender<WriteFailure>,
    level: Level,
) {
    let queued = &level.queued;
    let mut closing = None;
    let mut partial: Option<Bytes> = None;
    loop {
        let batch = tokio::select! {
            biased;
            n = &mut close => { closing = Some(n.unwrap_or(None)); break; }
            b = batches.recv() => match b {
                Some(b) => b,
                None => break,
            },
        };
        let mut rest = batch.bytes;
        match write_batch(&mut half, &mut rest, batch.send_hold, &level, &mut close).await {
            Written::All => {}
            Written::Failed(f) => {
                let _ = failed.send(f);
                return;
            }
            Written::Closing(n) => {
                closing = Some(n);
                partial = Some(rest);
                break;
            }
        }
    }
    let notification = closing.flatten();
    // The session is over: queued UPDATEs are dropped, the other messages still go out.
    batches.close();
    let mut control = Vec::new();
    while let Ok(b) = batches.try_recv() {
        if !b.updates {
            control.push(b.bytes);
        }
    }
    queued.store(0, Ordering::Relaxed);
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        if let Some(rest) = partial {
            // The batch is whole messages: writing its rest ends on a message boundary.
            half.write_all(&rest).await?;
        }
        for m in control {
            half.write_all(&m).await?;
        }
        if let Some(n) = notification {
            half.write_all(&n).await?;
        }
        half.shutdown().await
    })
    .await;
}

/// Writes `rest` (consuming it as the peer accepts it) with the send hold timer restarting
/// on every accepted octet, unless a close is asked for first.
async fn write_batch(
    half: &mut OwnedWriteHalf,
    rest: &mut Bytes,
    send_hold: Duration,
    level: &Level,
    close: &mut oneshot::Receiver<Option<Bytes>>,
) -> Written {
    while !rest.is_empty() {
        let step = tokio::time::timeout(send_hold, half.write(rest));
        let n = tokio::select! {
            biased;
            n = &mut *close => return Written::Closing(n.unwrap_or(None)),
            r = step => match r {
                Ok(Ok(0)) => {
                    return Written::Failed(WriteFailure::Io(std::io::ErrorKind::WriteZero.into()))
                }
                Ok(Ok(n)) => n,
                Ok(Err(e)) => return Written::Failed(WriteFailure::Io(e)),
                Err(_) => return Written::Failed(WriteFailure::Stalled(send_hold)),
            },
        };
        bytes::Buf::advance(rest, n.min(rest.len()));
        level.release(n);
    }
    Written::All
}

/// Takes `n` octets off the out queue. Saturating: a closing connection's task may still
/// finish a write after the peer's next connection reset the shared counter.
/// Returns the count before.
fn release(queued: &AtomicU64, n: usize) -> u64 {
    queued
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |q| {
            Some(q.saturating_sub(n as u64))
        })
        .unwrap_or_else(|q| q)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;
    use tokio::net::{TcpListener, TcpStream};

    async fn pair() -> (Writer, TcpStream, Arc<AtomicU64>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let a = TcpStream::connect(l.local_addr().unwrap()).await.unwrap();
        let (b, _) = l.accept().await.unwrap();
        let (_r, w) = a.into_split();
        let queued = Arc::new(AtomicU64::new(0));
        (Writer::spawn(w, queued.clone()), b, queued)
    }

    /// Batches arrive whole and in order, and the out queue returns to zero.
    #[tokio::test]
    async fn batches_are_written_in_order() {
        let (w, mut peer, queued) = pair().await;
        for i in 0..100u8 {
            w.send(Bytes::from(vec![i; 1000]), Duration::from_secs(5), true);
        }
        let mut got = vec![0u8; 100_000];
        peer.read_exact(&mut got).await.unwrap();
        for (i, chunk) in got.chunks(1000).enumerate() {
            assert!(chunk.iter().all(|b| usize::from(*b) == i));
        }
        assert_eq!(queued.load(Ordering::Relaxed), 0);
    }

    /// `room` completes only once the queue is down to the low-water mark: not while a peer
    /// that reads nothing holds it above, and soon after the peer reads.
    #[tokio::test]
    async fn room_is_signalled_when_the_queue_falls_to_the_low_water_mark() {
        let (w, mut peer, _queued) = pair().await;
        let total = 32 << 20;
        w.send(Bytes::from(vec![1u8; total]), Duration::from_secs(30), true);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(w.queued() > crate::session::waiting::LOW_WATER);
        assert!(
            tokio::time::timeout(Duration::from_millis(300), w.room().wait())
                .await
                .is_err(),
            "room while the queue is full"
        );
        let waiting = tokio::spawn(w.room().wait());
        let mut got = vec![0u8; total];
        peer.read_exact(&mut got).await.unwrap();
        tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("room once the peer read")
            .unwrap();
        assert!(w.queued() <= crate::session::waiting::LOW_WATER);
    }

    /// A peer that reads nothing fails the writer after the send hold time, with the octets
    /// still queued counted meanwhile; a peer that reads slowly does not.
    #[tokio::test]
    async fn a_peer_that_accepts_nothing_stalls_the_writer() {
        let (mut w, peer, queued) = pair().await;
        w.send(
            Bytes::from(vec![7u8; 32 << 20]),
            Duration::from_millis(300),
            true,
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(queued.load(Ordering::Relaxed) > 0);
        let f = tokio::time::timeout(Duration::from_secs(10), w.failed())
            .await
            .expect("the writer reports the stall");
        assert!(matches!(f, WriteFailure::Stalled(_)), "{f:?}");
        drop(peer);
    }

    /// Close completes the batch being written, drops the queued UPDATE batches, writes the
    /// queued KEEPALIVE and ends with the NOTIFICATION: the reader sees whole batches, the
    /// KEEPALIVE, the NOTIFICATION, then the end of the stream.
    #[tokio::test]
    async fn close_completes_the_current_batch_drops_updates_then_sends_the_notification() {
        let (w, mut peer, _queued) = pair().await;
        let big = 8 << 20;
        let hold = Duration::from_secs(5);
        w.send(Bytes::from(vec![1u8; big]), hold, true);
        for _ in 0..10 {
            w.send(Bytes::from(vec![2u8; big]), hold, true);
        }
        w.send(Bytes::from_static(b"KEEPALIVE"), hold, false);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let task = w.close(Some(Bytes::from_static(b"NOTIFY"))).unwrap();
        let mut got = Vec::new();
        peer.read_to_end(&mut got).await.unwrap();
        task.await.unwrap();
        assert!(
            got.ends_with(b"KEEPALIVENOTIFY"),
            "the queued KEEPALIVE, then the NOTIFICATION, come last"
        );
        let body = &got[..got.len() - 15];
        assert_eq!(body.len() % big, 0, "only whole batches: {}", body.len());
        assert!(body.len() < 11 * big, "queued UPDATE batches were dropped");
    }
}
