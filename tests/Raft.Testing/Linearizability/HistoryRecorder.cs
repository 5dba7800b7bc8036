namespace Raft.Testing.Linearizability;

/// <summary>
/// Collects the operations of a test run as clients invoke and complete them, and turns them into a history
/// for <see cref="LinearizabilityChecker"/>.
/// </summary>
/// <remarks>
/// Thread-safe: every member takes one lock, so clients on different threads may record concurrently. The
/// timestamps are the caller's (virtual ticks or a global counter) and must grow with real order of events.
/// </remarks>
/// <typeparam name="TInput">The request type of the model.</typeparam>
/// <typeparam name="TOutput">The response type of the model.</typeparam>
public sealed class HistoryRecorder<TInput, TOutput>
{
    private readonly Lock _lock = new();
    private readonly Dictionary<long, Invocation> _pending = [];
    private readonly List<(long Id, Operation<TInput, TOutput> Operation)> _completed = [];
    private long _nextId;
    private int _failed;

    /// <summary>Gets how many operations have completed.</summary>
    public int Completed
    {
        get
        {
            lock (_lock)
            {
                return _completed.Count;
            }
        }
    }

    /// <summary>Gets how many operations have been invoked and neither completed nor failed.</summary>
    public int Pending
    {
        get
        {
            lock (_lock)
            {
                return _pending.Count;
            }
        }
    }

    /// <summary>Gets how many operations were reported as failed without effect, and so left out.</summary>
    public int Failed
    {
        get
        {
            lock (_lock)
            {
                return _failed;
            }
        }
    }

    /// <summary>Records the invocation of an operation.</summary>
    /// <param name="clientId">The client issuing it.</param>
    /// <param name="input">The request.</param>
    /// <param name="time">The logical time of the invocation.</param>
    /// <returns>The id that <see cref="Complete"/> or <see cref="Fail"/> takes.</returns>
    public long Invoke(int clientId, TInput input, long time)
    {
        lock (_lock)
        {
            var id = _nextId++;
            _pending.Add(id, new Invocation(clientId, input, time));
            return id;
        }
    }

    /// <summary>Records the response of an operation.</summary>
    /// <param name="opId">The id from <see cref="Invoke"/>.</param>
    /// <param name="output">The response.</param>
    /// <param name="time">The logical time of the response; not before the invocation.</param>
    /// <exception cref="InvalidOperationException">The operation is not pending.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before the invocation.</exception>
    public void Complete(long opId, TOutput output, long time)
    {
        lock (_lock)
        {
            var invocation = Take(opId, time);
            _completed.Add((opId, new Operation<TInput, TOutput>(invocation.ClientId, invocation.Input, invocation.Call, output, time)));
        }
    }

    /// <summary>
    /// Records that an operation is known not to have taken effect (for example, rejected before it was
    /// proposed); it is left out of the history.
    /// </summary>
    /// <param name="opId">The id from <see cref="Invoke"/>.</param>
    /// <param name="time">The logical time the failure was observed; not before the invocation.</param>
    /// <exception cref="InvalidOperationException">The operation is not pending.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="time"/> is before the invocation.</exception>
    public void Fail(long opId, long time)
    {
        lock (_lock)
        {
            Take(opId, time);
            _failed++;
        }
    }

    /// <summary>
    /// Returns the history so far, in invocation order: completed operations as recorded, and still-pending
    /// ones with an unknown outcome (<see cref="long.MaxValue"/> return, <paramref name="indeterminate"/> output).
    /// </summary>
    /// <param name="indeterminate">The model's output for an operation whose outcome is unknown.</param>
    /// <returns>A snapshot; recording may continue afterwards.</returns>
    public IReadOnlyList<Operation<TInput, TOutput>> Build(TOutput indeterminate)
    {
        lock (_lock)
        {
            return _completed
                .Concat(_pending.Select(pending => (pending.Key, new Operation<TInput, TOutput>(
                    pending.Value.ClientId, pending.Value.Input, pending.Value.Call, indeterminate, long.MaxValue))))
                .OrderBy(entry => entry.Item1)
                .Select(entry => entry.Item2)
                .ToList();
        }
    }

    private Invocation Take(long opId, long time)
    {
        if (!_pending.Remove(opId, out var invocation))
        {
            throw new InvalidOperationException($"Operation {opId} is not pending: never invoked, or already completed or failed.");
        }

        if (time < invocation.Call)
        {
            _pending.Add(opId, invocation);
            throw new ArgumentOutOfRangeException(nameof(time), time, $"Operation {opId} was invoked at {invocation.Call}.");
        }

        return invocation;
    }

    private readonly record struct Invocation(int ClientId, TInput Input, long Call);
}
