namespace Raft.Core.Tracking;

/// <summary>
/// The appends sent to one follower and not yet acknowledged, as a ring buffer of (last index, bytes), bounded in
/// count and bytes: the pipelining window.
/// </summary>
internal sealed class Inflights
{
    private readonly int _capacity;
    private readonly long _maxBytes;
    private long[] _indexes = new long[4];
    private long[] _sizes = new long[4];
    private int _start;

    // Invariant: _count <= _capacity; the indexes in the ring increase from _start on.
    private int _count;

    public Inflights(int capacity, long maxBytes)
    {
        _capacity = capacity;
        _maxBytes = maxBytes;
    }

    public int Count => _count;

    public long Bytes { get; private set; }

    /// <summary>True when no more appends may be sent until some are acknowledged.</summary>
    public bool Full => _count >= _capacity || (_maxBytes > 0 && Bytes >= _maxBytes);

    public void Add(long lastIndex, long bytes)
    {
        if (_count == _indexes.Length)
        {
            Grow();
        }

        var slot = (_start + _count) % _indexes.Length;
        _indexes[slot] = lastIndex;
        _sizes[slot] = bytes;
        _count++;
        Bytes += bytes;
    }

    /// <summary>Frees every in-flight append whose last index is at most <paramref name="index"/>.</summary>
    public void FreeLE(long index)
    {
        while (_count > 0 && _indexes[_start] <= index)
        {
            Bytes -= _sizes[_start];
            _start = (_start + 1) % _indexes.Length;
            _count--;
        }

        if (_count == 0)
        {
            _start = 0;
        }
    }

    /// <summary>Frees the oldest in-flight append, so that one more may be sent.</summary>
    public void FreeFirstOne()
    {
        if (_count > 0)
        {
            FreeLE(_indexes[_start]);
        }
    }

    public void Reset()
    {
        _count = 0;
        _start = 0;
        Bytes = 0;
    }

    private void Grow()
    {
        var size = Math.Min(_indexes.Length * 2, Math.Max(_capacity, 4));
        if (size <= _indexes.Length)
        {
            size = _indexes.Length * 2;
        }

        var indexes = new long[size];
        var sizes = new long[size];
        for (var i = 0; i < _count; i++)
        {
            indexes[i] = _indexes[(_start + i) % _indexes.Length];
            sizes[i] = _sizes[(_start + i) % _indexes.Length];
        }

        _indexes = indexes;
        _sizes = sizes;
        _start = 0;
    }
}
