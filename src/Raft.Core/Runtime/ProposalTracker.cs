using System.Diagnostics;
using Raft.Core.Messages;

namespace Raft.Core.Runtime;

/// <summary>
/// Remembers the proposals this node's engine accepted and resolves each exactly once: with the state machine's
/// result when its entry is applied, or with <see cref="ProposalSupersededException"/> when the committed log proves
/// that it can never be applied.
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
/// Only the committed log decides. A node that leads again and appends a new proposal at the index of an older one of
/// its own has dropped the older entry from its log, but not from the others': a follower that still holds it may win
/// a later election and commit it (five voters: the first leader's entry reached one follower, which wins the term
/// after this node's second one). So the older proposal stays pending beside the newer one, and the entry applied at
/// that index resolves both.
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
    // made exact again after each scan, and covering _displaced too), so OnApplied scans only when a newer term may have
    // superseded something.
    private readonly Dictionary<long, Pending> _pending = [];

    // Older proposals at an index where a newer one of this node's took their place in its log (rare: it led, lost its
    // suffix and leads again); each still waits for the entry applied at its index. Invariant: every index here is in
    // _pending too, with a later term than each proposal listed for it.
    private readonly Dictionary<long, List<Pending>> _displaced = [];
    private readonly Action<TaskCompletionSource<ProposalResult>, long>? _onResolved;
    private long _minPendingTerm = long.MaxValue;
    private long _maxPendingIndex;
    private int _displacedCount;

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
    public int Count => _pending.Count + _displacedCount;

    /// <summary>Registers a proposal the engine accepted at (<paramref name="index"/>, <paramref name="term"/>).</summary>
    /// <param name="index">The log index the engine appended it at.</param>
    /// <param name="term">The term the engine appended it in.</param>
    /// <param name="completion">Resolved when the proposal is applied or known lost.</param>
    /// <remarks>A pending proposal at the same index from an older term (this node led before, lost the entry from its
    /// log and now reuses the index) stays pending: another node may still hold that entry and commit it as leader.
    /// The entry applied at the index decides which of them, if any, was applied.</remarks>
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

            if (!_displaced.TryGetValue(index, out var displaced))
            {
                _displaced[index] = displaced = [];
            }

            displaced.Add(older);
            _displacedCount++;
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
            Resolve(own, entry, response);
            if (_displacedCount > 0 && _displaced.Remove(entry.Index, out var displaced))
            {
                _displacedCount -= displaced.Count;
                foreach (var older in displaced)
                {
                    Resolve(older, entry, response);
                }
            }
        }

        if (_pending.Count == 0)
        {
            _minPendingTerm = long.MaxValue;
            _maxPendingIndex = 0;
        }
        else if (entry.Term > _minPendingTerm && _maxPendingIndex > entry.Index)
        {
            // Rare: an entry of a newer term was applied while older proposals wait past it (a leadership change).
            FailWhere((index, pending) => index > entry.Index && pending.Term < entry.Term
                ? new ProposalSupersededException(index, pending.Term, entry.Term)
                : null);
        }
    }

    /// <summary>Fails every pending proposal with <paramref name="exception"/> and forgets them.</summary>
    /// <param name="exception">The failure, typically <see cref="RaftNodeStoppedException"/>.</param>
    public void FailAll(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        FailWhere((_, _) => exception);
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

        FailWhere((pendingIndex, pending) =>
            pendingIndex > index
                ? pending.Term < term ? new ProposalSupersededException(pendingIndex, pending.Term, term) : null
                : pending.Term > term
                    ? new ProposalSupersededException(pendingIndex, pending.Term, term)
                    : new ProposalResultUnknownException(
                        pendingIndex,
                        pending.Term,
                        wasApplied: pending.Term == term,
                        $"this node installed a snapshot through index {index} (term {term}) from the leader instead of applying the entry itself."));
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

        return FailWhere((pendingIndex, pending) => pendingIndex > index ? failure(pendingIndex, pending.Term) : null);
    }

    // The proposal waited for the entry applied at its index: it is that entry, or it lost (§5.3).
    private void Resolve(Pending pending, Entry entry, ReadOnlyMemory<byte> response)
    {
        if (pending.Term == entry.Term)
        {
            // Reported before resolving, so whoever awaits the result also sees the report's effects.
            _onResolved?.Invoke(pending.Completion, entry.Index);
            pending.Completion.TrySetResult(new ProposalResult(entry.Index, response));
        }
        else
        {
            pending.Completion.TrySetException(new ProposalSupersededException(entry.Index, pending.Term, entry.Term));
        }
    }

    // Fails and forgets every proposal, displaced ones included, that `outcome` gives an exception for, then makes the
    // bounds exact again. Off the common path: a leadership change, a snapshot install, a removal or a stop.
    private int FailWhere(Func<long, Pending, Exception?> outcome)
    {
        var failed = new List<(Pending Pending, Exception Failure)>();
        foreach (var (index, pending) in _pending.ToList())
        {
            if (outcome(index, pending) is { } failure)
            {
                _pending.Remove(index);
                failed.Add((pending, failure));
            }
        }

        if (_displacedCount > 0)
        {
            foreach (var (index, displaced) in _displaced.ToList())
            {
                displaced.RemoveAll(pending =>
                {
                    var failure = outcome(index, pending);
                    if (failure is not null)
                    {
                        failed.Add((pending, failure));
                    }

                    return failure is not null;
                });
                if (displaced.Count == 0)
                {
                    _displaced.Remove(index);
                }
            }

            _displacedCount = _displaced.Values.Sum(displaced => displaced.Count);
        }

        RecomputeBounds();
        foreach (var (pending, failure) in failed)
        {
            pending.Completion.TrySetException(failure);
        }

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

        foreach (var displaced in _displaced.Values)
        {
            foreach (var pending in displaced)
            {
                _minPendingTerm = Math.Min(_minPendingTerm, pending.Term);
            }
        }

        Debug.Assert(_pending.Count > 0 || (_displacedCount == 0 && _minPendingTerm == long.MaxValue), "Displaced proposals have a newer one at their index.");
    }

    private readonly record struct Pending(long Term, TaskCompletionSource<ProposalResult> Completion);
}
