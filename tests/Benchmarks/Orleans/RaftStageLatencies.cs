using System.Diagnostics.Metrics;

namespace Benchmarks.Orleans;

/// <summary>
/// Listens, during one measured round, to two of the Raft meters the silos publish in this process: the commit latency
/// (a proposal entering the leader to its state-machine result) and the log store's append duration (every node's
/// durable appends, enqueue to fdatasync). They split a Raft write's latency into the consensus part and the rest
/// (Orleans' own messaging and the grain), and change less between runs than throughput on a shared machine.
/// </summary>
internal sealed class RaftStageLatencies : IDisposable
{
    private readonly MeterListener _listener = new();
    private volatile bool _recording;

    public RaftStageLatencies()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Name is "raft.commit.latency" or "raft.storage.append.duration")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<double>((instrument, milliseconds, _, _) =>
        {
            if (_recording)
            {
                (instrument.Name == "raft.commit.latency" ? Commit : Append).Record((long)(milliseconds * 1000));
            }
        });
        _listener.Start();
    }

    /// <summary>Commit latencies recorded while recording, in microseconds.</summary>
    public LatencyHistogram Commit { get; } = new();

    /// <summary>Durable append durations of all nodes recorded while recording, in microseconds.</summary>
    public LatencyHistogram Append { get; } = new();

    public void Start() => _recording = true;

    public void Stop() => _recording = false;

    public void Dispose() => _listener.Dispose();
}
