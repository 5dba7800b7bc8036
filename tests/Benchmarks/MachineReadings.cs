using System.Diagnostics;

namespace Benchmarks;

/// <summary>What the benchmarks read off the machine around a run: its load average, and processes' CPU time.</summary>
internal static class MachineReadings
{
    /// <summary>The 1, 5 and 15 minute load averages, as /proc/loadavg gives them ("n/a" where there is none).</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    /// <summary>User + system CPU time of each process so far, in order.</summary>
    /// <param name="processes">The processes.</param>
    /// <returns>Their CPU times.</returns>
    public static TimeSpan[] CpuTimes(IEnumerable<Process> processes) =>
        [.. processes.Select(process =>
        {
            process.Refresh();
            return process.TotalProcessorTime;
        })];
}
