namespace Raft.Testing.Simulation.Invariants;

/// <summary>A Raft invariant does not hold; the simulator adds the seed, time and trace.</summary>
public sealed class InvariantViolationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="invariant">The invariant's name and paper section, e.g. "Election Safety (§5.2)".</param>
    /// <param name="detail">What was observed.</param>
    public InvariantViolationException(string invariant, string detail)
        : base($"{invariant}: {detail}")
    {
        Invariant = invariant;
        Detail = detail;
    }

    /// <summary>Creates the exception.</summary>
    public InvariantViolationException()
        : this("unknown", "unknown")
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    public InvariantViolationException(string message)
        : this("unknown", message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The cause.</param>
    public InvariantViolationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Invariant = "unknown";
        Detail = message;
    }

    /// <summary>The invariant's name and paper section.</summary>
    public string Invariant { get; }

    /// <summary>What was observed.</summary>
    public string Detail { get; }
}
