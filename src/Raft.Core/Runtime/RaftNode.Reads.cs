using System.Buffers.Binary;
using Raft.Core.Engine;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

// Linearizable reads (thesis §6.4): one engine read-index request per loop iteration, then a wait for the applier.
public sealed partial class RaftNode
{
    // Loop only: reads taken in the current iteration, issued together after it.
    private List<ReadRequest>? _newReads;

    // Loop only: batches sent to the engine and waiting for their read index, by context id.
    private readonly Dictionary<long, ReadBatch> _readBatches = [];

    // Guarded by _lock: batches whose read index is known, waiting for the applier to reach it.
    private readonly PriorityQueue<ReadBatch, long> _readWaiters = new();

    // Read contexts start at a random 62-bit number (set at construction), so that a late answer meant for an earlier
    // incarnation of this node (same id, before a restart) cannot complete a read of this one with an index that
    // predates it. They started at the wall clock, which may stand earlier after a restart (a stepped clock, a restored
    // VM): then both incarnations named their first reads alike (RaftNodeReadContextTests). Drawn from the system's
    // cryptographic generator: the engine's randomness stays seeded (see the purity test); this is the host's.
    private long _nextReadId;

    private readonly long _readTimeoutTicks;

    // RaftNodeOptions.TickInterval in the time provider's timestamp units, at least 1 (see LeaseTicksDue).
    private readonly long _tickTimestampUnits;

    /// <summary>
    /// Waits until a read of this node's state machine is linearizable: completes once the state machine has applied
    /// every entry up to a read index the leader confirmed after this call began (thesis §6.4). Read the state machine
    /// after the returned task completes.
    /// </summary>
    /// <param name="cancellationToken">Abandons the wait.</param>
    /// <returns>The read index: the state machine reflects at least every entry up to it.</returns>
    /// <remarks>
    /// <para>
    /// Guarantee: every write acknowledged (by any node) before this call began is visible to a read made after the
    /// task completes. Works on the leader and on followers and learners: a follower asks the leader for the read index
    /// and serves the read from its own state machine, so reads scale with the followers. The leader confirms the index
    /// with one heartbeat round shared by all reads of the same moment (<see cref="ReadOnlyOption.Safe"/>, the default),
    /// or, with <see cref="RaftOptions.ReadOnlyOption"/> = <see cref="ReadOnlyOption.LeaseBased"/>, from its lease
    /// without a round trip; lease reads assume no node's clock runs faster than <see cref="RaftOptions.LeaseClockDriftTicks"/>
    /// allows. All reads requested during one consensus-loop iteration share one engine request.
    /// </para>
    /// <para>
    /// Never hangs: it fails with <see cref="NotLeaderException"/> when this node knows no leader, or when the role,
    /// leader or term changes while the request waits for its read index (a deposed leader's pending reads are
    /// abandoned); with <see cref="RaftTimeoutException"/> after <see cref="RaftNodeOptions.ReadTimeout"/> (a follower's
    /// request or the leader's answer was lost, or this node cannot apply up to the index); with
    /// <see cref="RaftNodeStoppedException"/> when the node stops. All of these are safe to retry. A failed read never
    /// returns a stale index.
    /// </para>
    /// </remarks>
    /// <exception cref="InvalidOperationException">The node was not started.</exception>
    public Task<long> WaitForLinearizableReadAsync(CancellationToken cancellationToken = default)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<long>(cancellationToken);
        }

        if (Volatile.Read(ref _state) == NotStarted)
        {
            throw new InvalidOperationException($"Raft node '{Id}' is not started; call StartAsync first.");
        }

        var request = new ReadRequest();
        if (!_events.Writer.TryWrite(new LoopEvent(LoopEventKind.Read, request)))
        {
            return Task.FromException<long>(RaftNodeStoppedException.For(Id, _failure));
        }

        return cancellationToken.CanBeCanceled ? request.Task.WaitAsync(cancellationToken) : request.Task;
    }

    // After the iteration's events: one engine request, identified by a fresh context, for every read taken.
    private void IssueReadBatch(RawNode rawNode)
    {
        if (_newReads is not { } requests)
        {
            return;
        }

        _newReads = null;
        CatchUpLeaseClock(rawNode);
        var id = _nextReadId++;
        var context = new byte[sizeof(long)];
        BinaryPrimitives.WriteInt64LittleEndian(context, id);
        var outcome = rawNode.ReadIndex(context);
        if (!outcome.IsAccepted)
        {
            var refusal = new NotLeaderException(
                $"Node '{Id}' knows no leader to confirm a linearizable read with (an election may be in progress); retry shortly.");
            foreach (var request in requests)
            {
                request.TrySetException(refusal);
            }

            return;
        }

        // The engine's role right now: the request lives only as long as it does.
        var status = rawNode.Status;
        _readBatches[id] = new ReadBatch(
            requests,
            new SoftState(status.Role, status.LeaderId, status.Term),
            _timeProvider.GetTimestamp() + _readTimeoutTicks);
        RaftMetrics.Reads.Add(requests.Count, _nodeTag);
    }

    private void OnReadStates(IReadOnlyList<ReadState> readStates)
    {
        foreach (var readState in readStates)
        {
            if (readState.Context.Length != sizeof(long) ||
                !_readBatches.Remove(BinaryPrimitives.ReadInt64LittleEndian(readState.Context.Span), out var batch))
            {
                // Timed out or failed already, or an answer meant for an earlier incarnation of this node.
                continue;
            }

            lock (_lock)
            {
                if (_appliedIndex >= readState.Index)
                {
                    batch.Complete(readState.Index);
                }
                else
                {
                    batch.Index = readState.Index;
                    _readWaiters.Enqueue(batch, readState.Index);
                }
            }
        }
    }

    // A read request lives in the engine only while its role, leader and term last: a deposed leader drops its pending
    // reads, and a follower ignores the answer of a leader of an older term. Fail those now rather than at the timeout.
    private void FailReadsAfterSoftStateChange(SoftState softState)
    {
        if (_readBatches.Count == 0)
        {
            return;
        }

        List<long>? ended = null;
        foreach (var (id, batch) in _readBatches)
        {
            if (batch.IssuedUnder != softState)
            {
                (ended ??= []).Add(id);
            }
        }

        if (ended is null)
        {
            return;
        }

        var failure = new NotLeaderException(
            $"Node '{Id}' changed role, leader or term (now {softState.Role} in term {softState.Term}, leader {softState.LeaderId ?? "unknown"}) before the read was confirmed; retry.");
        foreach (var id in ended)
        {
            _readBatches.Remove(id, out var batch);
            batch!.Fail(failure);
        }
    }

    // On every tick: reads past their deadline fail, whether they wait for the engine or for the applier.
    private void ExpireReads()
    {
        var now = _timeProvider.GetTimestamp();
        if (_readBatches.Count > 0)
        {
            List<long>? expired = null;
            foreach (var (id, batch) in _readBatches)
            {
                if (now >= batch.Deadline)
                {
                    (expired ??= []).Add(id);
                }
            }

            foreach (var id in expired ?? [])
            {
                _readBatches.Remove(id, out var batch);
                batch!.Fail(ReadTimeout("the leader did not confirm a read index in time (the request or its answer may have been lost)"));
            }
        }

        lock (_lock)
        {
            if (_readWaiters.Count == 0 || !_readWaiters.UnorderedItems.Any(w => now >= w.Element.Deadline))
            {
                return;
            }

            var waiting = _readWaiters.UnorderedItems.ToList();
            _readWaiters.Clear();
            foreach (var (batch, index) in waiting)
            {
                if (now >= batch.Deadline)
                {
                    batch.Fail(ReadTimeout($"this node did not apply up to the read index {index} in time (applied: {_appliedIndex})"));
                }
                else
                {
                    _readWaiters.Enqueue(batch, index);
                }
            }
        }
    }

    private RaftTimeoutException ReadTimeout(string why) =>
        new($"Raft node '{Id}': the linearizable read did not complete within {_options.ReadTimeout}: {why}. Retry it.");

    // Under _lock, after _appliedIndex moved.
    private void ReleaseReadWaiters()
    {
        while (_readWaiters.TryPeek(out var batch, out var index) && index <= _appliedIndex)
        {
            _readWaiters.Dequeue();
            batch.Complete(index);
        }
    }

    // Under _lock, once the node has stopped.
    private void FailReadWaiters(Exception exception)
    {
        while (_readWaiters.TryDequeue(out var batch, out _))
        {
            batch.Fail(exception);
        }
    }

    // One caller's read.
    private sealed class ReadRequest() : TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);

    // The reads of one loop iteration, which share one engine request and so one read index.
    private sealed class ReadBatch(List<ReadRequest> requests, SoftState issuedUnder, long deadline)
    {
        public SoftState IssuedUnder { get; } = issuedUnder;

        // In TimeProvider timestamps.
        public long Deadline { get; } = deadline;

        public long Index { get; set; }

        public void Complete(long index)
        {
            foreach (var request in requests)
            {
                request.TrySetResult(index);
            }
        }

        public void Fail(Exception exception)
        {
            foreach (var request in requests)
            {
                request.TrySetException(exception);
            }
        }
    }
}
