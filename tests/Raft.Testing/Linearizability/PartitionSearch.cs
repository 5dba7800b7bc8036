using System.Diagnostics;

namespace Raft.Testing.Linearizability;

/// <summary>
/// The Wing–Gong search with Lowe's memoization, as in Porcupine, over one independent part of a history.
/// </summary>
/// <remarks>
/// <para>
/// The history is a doubly linked list of call and return events in time order. The search walks it from
/// the front: a call whose operation can legally take effect in the current state is linearized, which
/// "lifts" the call and its return out of the list, and the walk restarts at the front. Reaching a return
/// event means its operation must have taken effect before this point but none of the calls before it could
/// be placed, so the search backtracks: it pops the last linearized call, puts both events back ("unlift")
/// and tries the next call after it.
/// </para>
/// <para>
/// Operations with an unknown outcome ("pending": their return is at <see cref="long.MaxValue"/>, so it
/// sorts last) may also be left out. Reaching such a return therefore means every operation still
/// unlinearized is pending, and the history is linearizable. This makes a pending operation a candidate at
/// every step after its call, which multiplies the configurations; two measures keep that in check:
/// </para>
/// <list type="bullet">
/// <item>The cache is keyed by (completed operations linearized, state) and keeps the sets of pending
/// operations linearized with it. Configuration (S, s) can complete whenever (S ∪ P, s) can, for pending P:
/// drop P from the completion. So every configuration seen before (all of which failed, or are ancestors
/// still being explored) prunes any configuration with the same key and a superset of its pending
/// operations. Without pending operations this is Porcupine's exact cache.</item>
/// <item>At each step the completed candidates are tried before the pending ones, so configurations with
/// fewer pending operations are explored, and cached, first.</item>
/// <item>A pending operation is not placed where it changes nothing, nor right after a run of pending
/// operations when placing it before that run gives the same state (see <see cref="IsRedundantPendingStep"/>).</item>
/// </list>
/// </remarks>
internal sealed class PartitionSearch<TState, TInput, TOutput>
{
    private const int Nil = -1;

    // How many steps run between two looks at the clock.
    private const int DeadlineCheckInterval = 1024;

    private readonly IModel<TState, TInput, TOutput> _model;
    private readonly IReadOnlyList<Operation<TInput, TOutput>> _ops;

    // Event node 2i is the call of _ops[i] and 2i + 1 its return; node _head is the sentinel.
    // Invariant: every call in the list comes before its own return.
    private readonly int[] _next;
    private readonly int[] _prev;
    private readonly int _head;

    // _slot[i] is the bit of _ops[i] in the completed or the pending set, whichever it belongs to.
    private readonly bool[] _isPending;
    private readonly int[] _slot;
    private readonly int _completedCount;
    private readonly int _pendingCount;

    private int[] _bestPrefix = [];
    private int _bestCompletedCount = -1;
    private TState _bestState = default!;

    public PartitionSearch(IModel<TState, TInput, TOutput> model, IReadOnlyList<Operation<TInput, TOutput>> ops)
    {
        _model = model;
        _ops = ops;
        _isPending = new bool[ops.Count];
        _slot = new int[ops.Count];
        for (var i = 0; i < ops.Count; i++)
        {
            _isPending[i] = ops[i].IsPending;
            _slot[i] = _isPending[i] ? _pendingCount++ : _completedCount++;
        }

        var nodes = 2 * ops.Count;
        _head = nodes;
        _next = new int[nodes + 1];
        _prev = new int[nodes + 1];

        var order = new int[nodes];
        for (var i = 0; i < nodes; i++)
        {
            order[i] = i;
        }

        // At equal times calls go first, which makes touching intervals concurrent (the permissive reading).
        Array.Sort(order, (a, b) =>
        {
            var byTime = TimeOf(a).CompareTo(TimeOf(b));
            if (byTime != 0)
            {
                return byTime;
            }

            var byKind = (a & 1).CompareTo(b & 1);
            return byKind != 0 ? byKind : a.CompareTo(b);
        });

        var previous = _head;
        foreach (var node in order)
        {
            _next[previous] = node;
            _prev[node] = previous;
            previous = node;
        }

        _next[previous] = Nil;
    }

    /// <summary>
    /// Gets, after an illegal verdict, the linearizable prefix found that places the most completed operations,
    /// as operation indexes in linearization order.
    /// </summary>
    public IReadOnlyList<int> BestPrefix => _bestPrefix;

    /// <summary>Gets the model state after <see cref="BestPrefix"/>.</summary>
    public TState BestState => _bestState;

    public CheckOutcome Run(Deadline deadline)
    {
        var completed = new LinearizedSet(_completedCount);
        var pending = new ulong[(_pendingCount + 63) >> 6];
        var cache = new Dictionary<CacheKey, List<ulong[]>>(new CacheKeyComparer(_model));
        var stackCalls = new int[_ops.Count];
        var stackStates = new TState[_ops.Count];
        var depth = 0;
        var state = _model.Init();
        var entry = _next[_head];

        // Each scan of the candidates runs twice: completed calls first, then pending ones.
        var pendingPass = false;
        var steps = 0L;

        while (_next[_head] != Nil)
        {
            if (++steps % DeadlineCheckInterval == 0 && deadline.Expired)
            {
                return CheckOutcome.Unknown;
            }

            Debug.Assert(entry != Nil, "A return event always follows the calls still in the list.");
            var op = entry >> 1;
            if ((entry & 1) == 0)
            {
                if (_isPending[op] == pendingPass)
                {
                    var (ok, next) = _model.Step(state, _ops[op].Input, _ops[op].Output);
                    if (ok
                        && !(pendingPass && IsRedundantPendingStep(op, state, next, stackCalls, stackStates, depth))
                        && Enter(op, next, completed, pending, cache))
                    {
                        stackCalls[depth] = entry;
                        stackStates[depth] = state;
                        depth++;
                        state = next;
                        Lift(entry);
                        entry = _next[_head];
                        pendingPass = false;
                        continue;
                    }
                }

                entry = _next[entry];
                continue;
            }

            if (_isPending[op])
            {
                return CheckOutcome.Ok;
            }

            if (!pendingPass && _pendingCount > 0)
            {
                pendingPass = true;
                entry = _next[_head];
                continue;
            }

            RecordPrefix(stackCalls, stackStates, depth, state);

            if (depth == 0)
            {
                return CheckOutcome.Illegal;
            }

            depth--;
            entry = stackCalls[depth];
            state = stackStates[depth];
            op = entry >> 1;
            if (_isPending[op])
            {
                ClearBit(pending, _slot[op]);
            }
            else
            {
                completed.Remove(_slot[op]);
            }

            Unlift(entry);
            pendingPass = _isPending[op];
            entry = _next[entry];
        }

        return CheckOutcome.Ok;
    }

    // Keeps the best prefix for the failure report: the most completed operations, then the fewest pending
    // ones. Pending operations at its end are dropped: the search placed them speculatively, and the state
    // before them is the one the stuck operations contradict.
    private void RecordPrefix(int[] stackCalls, TState[] stackStates, int depth, TState state)
    {
        var length = depth;
        while (length > 0 && _isPending[stackCalls[length - 1] >> 1])
        {
            length--;
        }

        var completedCount = 0;
        for (var i = 0; i < length; i++)
        {
            completedCount += _isPending[stackCalls[i] >> 1] ? 0 : 1;
        }

        if (_bestCompletedCount >= 0
            && (completedCount < _bestCompletedCount || (completedCount == _bestCompletedCount && length >= _bestPrefix.Length)))
        {
            return;
        }

        _bestCompletedCount = completedCount;
        _bestPrefix = new int[length];
        for (var i = 0; i < length; i++)
        {
            _bestPrefix[i] = stackCalls[i] >> 1;
        }

        _bestState = length == depth ? state : stackStates[length];
    }

    // Whether linearizing pending op next reaches a configuration that an ancestor on the stack reaches (or
    // has reached) too, with fewer pending operations: the same (completed set, state) and a subset of the
    // pending ones, so it is dominated. Two cases, neither needing a cache lookup: the op leaves the state
    // unchanged (dominated by the current configuration), or the search got here through a run of pending
    // operations and the op yields the same state straight from a configuration in that run (it is a candidate
    // there too: pending returns never end a candidate scan). The second collapses chains of blind writes.
    private bool IsRedundantPendingStep(int op, TState state, TState next, int[] stackCalls, TState[] stackStates, int depth)
    {
        if (_model.Equal(next, state))
        {
            return true;
        }

        for (var k = depth - 1; k >= 0 && _isPending[stackCalls[k] >> 1]; k--)
        {
            var (ok, direct) = _model.Step(stackStates[k], _ops[op].Input, _ops[op].Output);
            if (ok && _model.Equal(direct, next))
            {
                return true;
            }
        }

        return false;
    }

    // Adds op to the linearized sets if the configuration it leads to is new; otherwise leaves them as they were.
    private bool Enter(int op, TState next, LinearizedSet completed, ulong[] pending, Dictionary<CacheKey, List<ulong[]>> cache)
    {
        var slot = _slot[op];
        if (_isPending[op])
        {
            SetBit(pending, slot);
        }
        else
        {
            completed.Add(slot);
        }

        if (!cache.TryGetValue(new CacheKey(completed.Words, completed.Hash, next), out var seen))
        {
            cache.Add(new CacheKey(completed.Snapshot(), completed.Hash, next), [Snapshot(pending)]);
            return true;
        }

        if (!seen.Exists(subset => IsSubset(subset, pending)))
        {
            // The new set dominates nothing it contains; drop those it is contained in, which it now prunes.
            seen.RemoveAll(superset => IsSubset(pending, superset));
            seen.Add(Snapshot(pending));
            return true;
        }

        if (_isPending[op])
        {
            ClearBit(pending, slot);
        }
        else
        {
            completed.Remove(slot);
        }

        return false;
    }

    private long TimeOf(int node) => (node & 1) == 0 ? _ops[node >> 1].Call : _ops[node >> 1].Return;

    // Removes a call and its return from the list; their own links are kept so Unlift can restore them.
    private void Lift(int call)
    {
        Unlink(call);
        Unlink(call | 1);
    }

    // Undoes Lift; must run in exact reverse order of the lifts (the search stack guarantees it).
    private void Unlift(int call)
    {
        Relink(call | 1);
        Relink(call);
    }

    private void Unlink(int node)
    {
        _next[_prev[node]] = _next[node];
        if (_next[node] != Nil)
        {
            _prev[_next[node]] = _prev[node];
        }
    }

    private void Relink(int node)
    {
        _next[_prev[node]] = node;
        if (_next[node] != Nil)
        {
            _prev[_next[node]] = node;
        }
    }

    private static void SetBit(ulong[] words, int index) => words[index >> 6] |= 1UL << index;

    private static void ClearBit(ulong[] words, int index) => words[index >> 6] &= ~(1UL << index);

    private static ulong[] Snapshot(ulong[] words) => words.Length == 0 ? words : (ulong[])words.Clone();

    private static bool IsSubset(ulong[] subset, ulong[] superset)
    {
        for (var i = 0; i < subset.Length; i++)
        {
            if ((subset[i] & ~superset[i]) != 0)
            {
                return false;
            }
        }

        return true;
    }

    private readonly record struct CacheKey(ulong[] Linearized, ulong LinearizedHash, TState State);

    private sealed class CacheKeyComparer(IModel<TState, TInput, TOutput> model) : IEqualityComparer<CacheKey>
    {
        public bool Equals(CacheKey x, CacheKey y) =>
            x.LinearizedHash == y.LinearizedHash
            && x.Linearized.AsSpan().SequenceEqual(y.Linearized)
            && model.Equal(x.State, y.State);

        public int GetHashCode(CacheKey key) => HashCode.Combine(key.LinearizedHash, model.Hash(key.State));
    }
}
