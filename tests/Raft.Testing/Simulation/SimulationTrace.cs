using System.Globalization;
using System.Text;

namespace Raft.Testing.Simulation;

/// <summary>The last events of a run, kept for the failure report.</summary>
/// <remarks>
/// A ring buffer of (time, object) pairs: the objects are immutable events and messages, turned into text only when
/// a report is written, so tracing costs no formatting on the hot path.
/// </remarks>
internal sealed class SimulationTrace
{
    private const int MaxLineLength = 300;

    private readonly (long Time, object What)[] _ring;
    private long _count;

    public SimulationTrace(int capacity)
    {
        _ring = new (long, object)[Math.Max(1, capacity)];
    }

    public void Add(long time, object what)
    {
        _ring[_count % _ring.Length] = (time, what);
        _count++;
    }

    /// <summary>The kept events, oldest first, one per line.</summary>
    public string Format()
    {
        var text = new StringBuilder();
        var first = Math.Max(0, _count - _ring.Length);
        for (var i = first; i < _count; i++)
        {
            var (time, what) = _ring[i % _ring.Length];

            // An append of a few hundred entries would bury the story: keep each line readable.
            var line = what.ToString() ?? string.Empty;
            if (line.Length > MaxLineLength)
            {
                line = string.Concat(line.AsSpan(0, MaxLineLength), " ...");
            }

            text.Append(CultureInfo.InvariantCulture, $"  [{FormatTime(time)}] {line}").Append('\n');
        }

        return text.ToString();
    }

    public static string FormatTime(long micros) => (micros / 1000.0).ToString("0.000", CultureInfo.InvariantCulture) + "ms";
}
