using System.Buffers.Binary;
using Raft.Core.Engine;
using Raft.Core.Messages;
using Raft.Testing.Simulation.Invariants;

namespace Raft.Testing.Simulation;

/// <summary>Linearizable reads without the log (thesis §6.4): ReadIndex on any node, answered by a heartbeat round or a lease.</summary>
/// <remarks>
/// A read waits in two stages: for the engine to confirm a read index (a <see cref="ReadState"/> in a later ready), then
/// for the state machine to apply through that index; it is served from the state machine at that moment. A read not
/// yet confirmed when the role, leader or term changes is failed (the engine may have dropped it; reads have no effect,
/// so the client simply retries); a confirmed one stays valid whoever leads.
/// </remarks>
internal sealed partial class SimNode
{
    private readonly Dictionary<long, PendingRead> _unconfirmedReads = [];
    private readonly List<(long ReadIndex, PendingRead Read)> _confirmedReads = [];

    /// <summary>Reads this node served.</summary>
    public int ReadsServed { get; private set; }

    /// <summary>Asks the engine for a read index for read <paramref name="readId"/> of <paramref name="key"/>, once it takes requests.</summary>
    /// <param name="readId">Unique over the run; travels as the read's context.</param>
    /// <param name="key">The key to read once the index is applied.</param>
    /// <param name="committedAtStart">The highest index known committed anywhere as the read starts.</param>
    /// <param name="completion">Completed with the value, or with a failure when the read is abandoned.</param>
    /// <param name="then">Told the engine's answer; or, when the node stops first, a dropped outcome.</param>
    public void ReadIndex(long readId, string key, long committedAtStart, TaskCompletionSource<ReadOutcome> completion, Action<ProposeOutcome> then) =>
        Submit(
            node =>
            {
                var context = new byte[8];
                BinaryPrimitives.WriteInt64LittleEndian(context, readId);
                var outcome = node._raw!.ReadIndex(context);
                if (outcome.IsAccepted)
                {
                    node._unconfirmedReads[readId] = new PendingRead(readId, key, committedAtStart, completion);
                }

                then(outcome);
            },
            () => then(NotReached()));

    /// <summary>The client gave up on read <paramref name="readId"/>: forget it.</summary>
    /// <returns>The read index it was confirmed at, or null when it was still waiting for one (or is unknown here).</returns>
    public long? ForgetRead(long readId)
    {
        if (_unconfirmedReads.Remove(readId))
        {
            return null;
        }

        var at = _confirmedReads.FindIndex(pending => pending.Read.ReadId == readId);
        if (at < 0)
        {
            return null;
        }

        var readIndex = _confirmedReads[at].ReadIndex;
        _confirmedReads.RemoveAt(at);
        return readIndex;
    }

    private void OnReadStates(IReadOnlyList<ReadState> states)
    {
        foreach (var state in states)
        {
            if (state.Context.Length == 8 && _unconfirmedReads.Remove(BinaryPrimitives.ReadInt64LittleEndian(state.Context.Span), out var read))
            {
                _confirmedReads.Add((state.Index, read));
            }
        }
    }

    private void ServeAppliedReads()
    {
        if (_confirmedReads.Count == 0)
        {
            return;
        }

        var kept = 0;
        for (var i = 0; i < _confirmedReads.Count; i++)
        {
            var (readIndex, read) = _confirmedReads[i];
            if (readIndex > _appliedIndex)
            {
                _confirmedReads[kept++] = _confirmedReads[i];
                continue;
            }

            ReadIndexInvariant.ObserveServe(Id, readIndex, read.CommittedAtStart, _appliedIndex);
            var value = _stateMachine!.Data.GetValueOrDefault(read.Key);
            ReadsServed++;
            read.Completion.TrySetResult(new ReadOutcome(true, value, readIndex, _appliedIndex));
        }

        _confirmedReads.RemoveRange(kept, _confirmedReads.Count - kept);
    }

    private void FailUnconfirmedReads()
    {
        foreach (var read in _unconfirmedReads.Values)
        {
            read.Completion.TrySetResult(ReadOutcome.Abandoned);
        }

        _unconfirmedReads.Clear();
    }

    private void FailAllReads()
    {
        FailUnconfirmedReads();
        foreach (var (_, read) in _confirmedReads)
        {
            read.Completion.TrySetResult(ReadOutcome.Abandoned);
        }

        _confirmedReads.Clear();
    }

    private sealed record PendingRead(long ReadId, string Key, long CommittedAtStart, TaskCompletionSource<ReadOutcome> Completion);
}

/// <summary>How a ReadIndex read ended.</summary>
/// <param name="Served">Whether it was served; false when the node gave up on it (no effect either way).</param>
/// <param name="Value">The value read, when served (null: absent).</param>
/// <param name="ReadIndex">The confirmed read index.</param>
/// <param name="AppliedIndex">What the node had applied when it served the read.</param>
internal sealed record ReadOutcome(bool Served, string? Value, long ReadIndex, long AppliedIndex)
{
    public static ReadOutcome Abandoned { get; } = new(false, null, 0, 0);
}
