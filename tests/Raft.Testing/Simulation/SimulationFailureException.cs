namespace Raft.Testing.Simulation;

/// <summary>A simulated run broke an invariant, lost liveness, or produced a non-linearizable history.</summary>
/// <remarks>The message starts with the seed and how to replay it, then the options, the failure and the trace.</remarks>
public sealed class SimulationFailureException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="seed">The run's seed.</param>
    /// <param name="time">The virtual time of the failure, in microseconds.</param>
    /// <param name="invariant">The check that failed.</param>
    /// <param name="detail">What the check saw.</param>
    /// <param name="report">The options and the recent events, already formatted.</param>
    /// <param name="innerException">The exception that broke the run, when it was not a check.</param>
    public SimulationFailureException(long seed, long time, string invariant, string detail, string report, Exception? innerException = null)
        : base(
            $"Simulation seed {seed} failed at {SimulationTrace.FormatTime(time)}: {invariant}: {detail}\n" +
            $"Replay: RAFT_SEED={seed} dotnet test tests/Raft.Core.Tests -c Release --filter \"FullyQualifiedName~Simulation\"\n{report}",
            innerException)
    {
        Seed = seed;
        Time = time;
        Invariant = invariant;
        Detail = detail;
    }

    /// <summary>Creates the exception with a message only.</summary>
    public SimulationFailureException()
        : this(0, 0, "unknown", "unknown", string.Empty)
    {
    }

    /// <summary>Creates the exception with a message only.</summary>
    /// <param name="message">The message.</param>
    public SimulationFailureException(string message)
        : base(message)
    {
        Invariant = "unknown";
        Detail = message;
    }

    /// <summary>Creates the exception with a message and cause.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public SimulationFailureException(string message, Exception innerException)
        : base(message, innerException)
    {
        Invariant = "unknown";
        Detail = message;
    }

    /// <summary>The run's seed.</summary>
    public long Seed { get; }

    /// <summary>The virtual time of the failure, in microseconds.</summary>
    public long Time { get; }

    /// <summary>The name of the check that failed ("Election Safety (§5.2)", "Liveness", "Linearizability", ...).</summary>
    public string Invariant { get; }

    /// <summary>What the check saw, in one line.</summary>
    public string Detail { get; }

    /// <summary>The first line of the message: seed, time, check and detail.</summary>
    public string Summary => Message.Split('\n')[0];
}
