using System.Diagnostics.Metrics;
using System.Globalization;

namespace Benchmarks.Orleans;

/// <summary>
/// Counts, from the "Orleans.Raft" meter, where the Raft counters were placed (<c>orleans.raft.placement.decisions</c>
/// by outcome) and how many writes a follower silo forwarded to the leader (<c>orleans.raft.storage.forwarded</c>),
/// so a run shows whether <c>--raft-placement leader</c> did what it says.
/// </summary>
internal sealed class RaftWriteRouting : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _placements = new(StringComparer.Ordinal);
    private long _forwarded;

    public RaftWriteRouting()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == "Orleans.Raft" && instrument.Name is "orleans.raft.placement.decisions" or "orleans.raft.storage.forwarded")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>Forwarded write attempts so far.</summary>
    public long Forwarded => Interlocked.Read(ref _forwarded);

    /// <summary>The placement decisions so far, e.g. "leader 1000".</summary>
    public string Placements()
    {
        lock (_placements)
        {
            return _placements.Count == 0
                ? "none (Orleans' default placement)"
                : string.Join(", ", _placements.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => string.Create(CultureInfo.InvariantCulture, $"{p.Key} {p.Value}")));
        }
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        if (instrument.Name == "orleans.raft.storage.forwarded")
        {
            Interlocked.Add(ref _forwarded, value);
            return;
        }

        foreach (var tag in tags)
        {
            if (tag is { Key: "orleans.raft.outcome", Value: string outcome })
            {
                lock (_placements)
                {
                    _placements[outcome] = _placements.GetValueOrDefault(outcome) + value;
                }
            }
        }
    }
}
