using System.Diagnostics;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

/// <summary>
/// Remembers the proposals this node's engine accepted and resolves each exactly once: with the state machine's
/// result when its entry is applied, or with <see cref="ProposalSupersededException"/> when the log proves that it
/// can never be applied.
/// </summary>
/// <remarks>
/// <para>
/// A proposal is identified by the (index, term) the engine appended it at. Because a log entry is identified by its
/// index and term (Log Matching, §5.3), the proposal was applied exactly when the entry applied at its index has its
/// term. And because terms never decrease along a log, once an entry of term T is applied at index i, every index
/// past i can only ever hold entries of term T or later: a pending proposal there with a lower term is lost too.
/// Those two rules make sure no proposal waits forever once the log moves past it.
/// </para>
/// <para>
/// Not thread-safe: the caller serialises all calls. <see cref="RaftNode"/> takes one lock around the loop's
/// registrations and the applier's resolutions; the deterministic simulator calls it from its single thread.
/// Completions are finished inside those calls, so create them with
/// <see cref="TaskCreationOptions.RunContinuationsAsynchronously"/> when waiters must not run under the caller's lock.
/// </para>
/// </remarks>
public sealed class ProposalTracker
{
    // Invariant: every pending proposal has _minPendingTerm <= term and index <= _maxPendingIndex (both are bounds,
    // made exact again after each scan), so OnApplied scans only when a newer term may have superseded something.
    private readonly Dictionary<long, Pending> _pending = [];
    private readonly Action<TaskCompletionSource<ProposalResult>, long>? _onResolved;
    private long _minPendingTerm = long.MaxValue;
    private long _maxPendingIndex;

    /// <summary>Creates an empty tracker.</summary>
    public ProposalTracker()
    {
    }

    /// <summary>Creates an empty tracker that reports every successful resolution (for metrics).</summary>
    /// <param name="onResolved">Called with the completion and its index just before a proposal resolves with its result,
    /// inside <see cref="OnApplied"/>; it must be quick and must not throw.</param>
    public ProposalTracker(Action<TaskCompletionSource<ProposalResult>, long>? onResolved)
    {
        _onResolved = onResolved;
    }

    /// <summary>The number of proposals still waiting.</summary>
    public int Count => _pending.Count;

    /// <summary>Registers a proposal the engine accepted at (<paramref name="index"/>, <paramref name="term"/>).</summary>
    /// <param name="index">The log index the engine appended it at.</param>
    /// <param name="term">The term the engine appended it in.</param>
    /// <param name="completion">Resolved when the proposal is applied or known lost.</param>
    /// <remarks>A pending proposal at the same index from an older term lost its place (this node was leader before, lost
    /// the entry and now reuses the index) and fails with <see cref="ProposalSupersededException"/> first.</remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> or <paramref name="term"/> is less than 1.</exception>
    /// <exception cref="InvalidOperationException">A proposal of the same or a later term is already pending at <paramref name="index"/>.</exception>
    public void Register(long index, long term, TaskCompletionSource<ProposalResult> completion)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(index, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(term, 1);
        ArgumentNullException.ThrowIfNull(completion);

        if (_pending.TryGetValue(index, out var older))
        {
            if (older.Term >= term)
            {
                throw new InvalidOperationException(
                    $"A proposal from term {older.Term} is already pending at index {index}; a new one from term {term} cannot take its place.");
            }

            older.Completion.TrySetException(new ProposalSupersededException(index, older.Term, term));
        }

        _pending[index] = new Pending(term, completion);
        _minPendingTerm = Math.Min(_minPendingTerm, term);
        _maxPendingIndex = Math.Max(_maxPendingIndex, index);
    }

    /// <summary>Tells the tracker that <paramref name="entry"/> was applied; call for every applied entry, in log order.</summary>
    /// <param name="entry">The applied entry, of any type.</param>
    /// <param name="response">The state machine's result (empty for entries the state machine does not see).</param>
    public void OnApplied(Entry entry, ReadOnlyMemory<byte> response)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (_pending.Count == 0)
        {
            return;
        }

        if (_pending.Remove(entry.Index, out var own))
        {
            if (own.Term == entry.Term)
            {
                // Reported before resolving, so whoever awaits the result also sees the report's effects.
                _onResolved?.Invoke(own.Completion, entry.Index);
                own.Completion.TrySetResult(new ProposalResult(entry.Index, response));
            }
            else
            {
                own.Completion.TrySetException(new ProposalSupersededException(entry.Index, own.Term, entry.Term));
            }
        }

        if (_pending.Count == 0)
        {
            _minPendingTerm = long.MaxValue;
            _maxPendingIndex = 0;
        }
        else if (entry.Term > _minPendingTerm && _maxPendingIndex > entry.Index)
        {
            FailSupersededAfter(entry);
        }
    }

    /// <summary>Fails every pending proposal with <paramref name="exception"/> and forgets them.</summary>
    /// <param name="exception">The failure, typically <see cref="RaftNodeStoppedException"/>.</param>
    public void FailAll(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        foreach (var pending in _pending.Values)
        {
            pending.Completion.TrySetException(exception);
        }

        _pending.Clear();
        _minPendingTerm = long.MaxValue;
        _maxPendingIndex = 0;
    }

    /// <summary>
    /// Tells the tracker that the state machine was restored from a snapshot covering the log up to
    /// (<paramref name="index"/>, <paramref name="term"/>) instead of applying those entries here (§7), and resolves
    /// every proposal whose fate that decides.
    /// </summary>
    /// <param name="index">The snapshot's last included index.</param>
    /// <param name="term">The term of the entry at <paramref name="index"/>.</param>
    /// <remarks>
    /// For a proposal at (i, t) with i ≤ <paramref name="index"/>: if t equals <paramref name="term"/>, this node led
    /// term t and wrote the entry at <paramref name="index"/> after its own entry at i, so the committed entry at i is
    /// the proposal: it was applied, but its result is unknown (<see cref="ProposalResultUnknownException"/> with
    /// <see cref="ProposalResultUnknownException.WasApplied"/> true). If t is later than <paramref name="term"/>, the
    /// committed entry at i has an older term, so the proposal lost (<see cref="ProposalSupersededException"/>). If t is
    /// earlier, either may be true (<see cref="ProposalResultUnknownException"/>, not known applied). Past the snapshot,
    /// the usual rule holds: a proposal of a term older than <paramref name="term"/> lost its place.
    /// </remarks>
    public void OnSnapshotRestored(long index, long term)
    {
        if (_pending.Count == 0)
        {
            return;
        }

        List<long>? resolved = null;
        foreach (var (pendingIndex, pending) in _pending)
        {
            if (pendingIndex <= index || pending.Term < term)
            {
                (resolved ??= []).Add(pendingIndex);
            }
        }

        if (resolved is null)
        {
            return;
        }

        foreach (var pendingIndex in resolved)
        {
            _pending.Remove(pendingIndex, out var pending);
            Exception outcome = pendingIndex > index || pending.Term > term
                ? new ProposalSupersededException(pendingIndex, pending.Term, term)
                : new ProposalResultUnknownException(
                    pendingIndex,
                    pending.Term,
                    wasApplied: pending.Term == term,
                    $"this node installed a snapshot through index {index} (term {term}) from the leader instead of applying the entry itself.");
            pending.Completion.TrySetException(outcome);
        }

        RecomputeBounds();
    }

    /// <summary>Fails every pending proposal at an index above <paramref name="index"/> with an exception made by <paramref name="failure"/>.</summary>
    /// <param name="index">Proposals at or below this index stay pending.</param>
    /// <param name="failure">Makes the exception from a proposal's index and term.</param>
    /// <returns>How many proposals failed.</returns>
    public int FailAbove(long index, Func<long, long, Exception> failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        if (_pending.Count == 0 || _maxPendingIndex <= index)
        {
            return 0;
        }

        var failed = _pending.Keys.Where(i => i > index).ToList();
        foreach (var pendingIndex in failed)
        {
            _pending.Remove(pendingIndex, out var pending);
            pending.Completion.TrySetException(failure(pendingIndex, pending.Term));
        }

        RecomputeBounds();
        return failed.Count;
    }

    private void RecomputeBounds()
    {
        _minPendingTerm = long.MaxValue;
        _maxPendingIndex = 0;
        foreach (var (pendingIndex, pending) in _pending)
        {
            _minPendingTerm = Math.Min(_minPendingTerm, pending.Term);
            _maxPendingIndex = Math.Max(_maxPendingIndex, pendingIndex);
        }
    }

    // Rare: runs only when an entry of a newer term was applied while older proposals wait past it, i.e. after a
    // leadership change; it restores the exact bounds so the common path stays O(1).
    private void FailSupersededAfter(Entry entry)
    {
        var minTerm = long.MaxValue;
        var maxIndex = 0L;
        List<long>? lost = null;
        foreach (var (index, pending) in _pending)
        {
            if (index > entry.Index && pending.Term < entry.Term)
            {
                (lost ??= []).Add(index);
                continue;
            }

            minTerm = Math.Min(minTerm, pending.Term);
            maxIndex = Math.Max(maxIndex, index);
        }

        if (lost is not null)
        {
            foreach (var index in lost)
            {
                _pending.Remove(index, out var pending);
                pending.Completion.TrySetException(new ProposalSupersededException(index, pending.Term, entry.Term));
            }
        }

        _minPendingTerm = minTerm;
        _maxPendingIndex = maxIndex;
        Debug.Assert(_pending.Count > 0 || (minTerm == long.MaxValue && maxIndex == 0), "Bounds of an empty tracker are reset.");
    }

    private readonly record struct Pending(long Term, TaskCompletionSource<ProposalResult> Completion);
}
