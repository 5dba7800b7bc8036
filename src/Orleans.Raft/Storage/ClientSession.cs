using System.Diagnostics;

namespace Orleans.Raft.Storage;

// This provider's side of its client session (thesis §6.3): request ids and which of them still await an answer.
// The store keeps the answer of every request at or above the lowest unacknowledged one, so a retried request gets the
// first attempt's answer instead of applying twice.
internal sealed class ClientSession
{
    private readonly Lock _lock = new();

    // Which request ids have ended, as a ring over the ids from the lowest outstanding one to the last issued: every
    // write begins and ends one id, and ids end roughly in the order they began, so this is O(1) per request without
    // allocating (a sorted set allocated a node per request). The ring grows only while one request stays outstanding
    // as many others pass it, and then to at most the requests issued during one operation timeout.
    // Invariant: every id below _lowest has ended; _lowest <= _lastRequestId + 1; _lastRequestId - _lowest < _ended.Length;
    // for _lowest <= id <= _lastRequestId, _ended[id % _ended.Length] says whether id has ended; ids are never reused.
    private bool[] _ended = new bool[64];
    private long _lowest = 1;
    private long _lastRequestId;

    // The registration in progress or done, and the session id it produced.
    private Task<long>? _registration;

    public long Begin()
    {
        lock (_lock)
        {
            var id = _lastRequestId + 1;
            if (id - _lowest >= _ended.Length)
            {
                Grow();
            }

            _ended[id % _ended.Length] = false;
            _lastRequestId = id;
            return id;
        }
    }

    public void End(long requestId)
    {
        lock (_lock)
        {
            if (requestId < _lowest || requestId > _lastRequestId)
            {
                Debug.Fail($"Request {requestId} ended twice or was never begun.");
                return;
            }

            _ended[requestId % _ended.Length] = true;
            while (_lowest <= _lastRequestId && _ended[_lowest % _ended.Length])
            {
                _lowest++;
            }
        }
    }

    // Every request below this one has been answered or abandoned by this client.
    public long LowestUnacknowledged
    {
        get
        {
            lock (_lock)
            {
                return _lowest;
            }
        }
    }

    // Under the lock: doubles the ring, moving each id of the window to its slot in the larger one.
    private void Grow()
    {
        var ended = new bool[_ended.Length * 2];
        for (var id = _lowest; id <= _lastRequestId; id++)
        {
            ended[id % ended.Length] = _ended[id % _ended.Length];
        }

        _ended = ended;
    }

    // The session id when a registration succeeded (and was not invalidated since): what nearly every request finds.
    public bool TryGetRegistered(out long sessionId)
    {
        var registration = Volatile.Read(ref _registration);
        if (registration is { IsCompletedSuccessfully: true })
        {
            sessionId = registration.Result;
            return true;
        }

        sessionId = 0;
        return false;
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
