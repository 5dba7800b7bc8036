namespace Orleans.Raft.Storage;

// This provider's side of its client session (thesis §6.3): request ids and which of them still await an answer.
// The store keeps the answer of every request at or above the lowest unacknowledged one, so a retried request gets the
// first attempt's answer instead of applying twice.
internal sealed class ClientSession
{
    private readonly Lock _lock = new();

    // Invariant: every id in _outstanding is <= _lastRequestId; ids are never reused.
    private readonly SortedSet<long> _outstanding = [];
    private long _lastRequestId;

    // The registration in progress or done, and the session id it produced.
    private Task<long>? _registration;

    public long Begin()
    {
        lock (_lock)
        {
            var id = ++_lastRequestId;
            _outstanding.Add(id);
            return id;
        }
    }

    public void End(long requestId)
    {
        lock (_lock)
        {
            _outstanding.Remove(requestId);
        }
    }

    // Every request below this one has been answered or abandoned by this client.
    public long LowestUnacknowledged
    {
        get
        {
            lock (_lock)
            {
                return _outstanding.Count == 0 ? _lastRequestId + 1 : _outstanding.Min;
            }
        }
    }

    public Task<long> GetOrRegister(Func<Task<long>> register)
    {
        lock (_lock)
        {
            if (_registration is null || _registration.IsFaulted || _registration.IsCanceled)
            {
                _registration = register();
            }

            return _registration;
        }
    }

    // The store no longer knows sessionId: forget it so that the next request registers a new session.
    public void Invalidate(long sessionId)
    {
        lock (_lock)
        {
            if (_registration is { IsCompletedSuccessfully: true } registration && registration.Result == sessionId)
            {
                _registration = null;
            }
        }
    }
}
