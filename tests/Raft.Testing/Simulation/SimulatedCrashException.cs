namespace Raft.Testing.Simulation;

/// <summary>Thrown inside a simulated node to stop it at once, as a power cut would; never escapes the simulator.</summary>
public sealed class SimulatedCrashException : Exception
{
    /// <summary>Creates the exception.</summary>
    public SimulatedCrashException()
        : base("Simulated crash.")
    {
    }

    /// <summary>Creates the exception naming where the node crashed.</summary>
    /// <param name="message">Where the node crashed.</param>
    public SimulatedCrashException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">Where the node crashed.</param>
    /// <param name="innerException">The cause.</param>
    public SimulatedCrashException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
