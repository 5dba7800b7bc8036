using Orleans.Runtime;

namespace Orleans.Raft.EventSourcing;

/// <summary>
/// <c>RetrieveConfirmedEvents</c> asked for events that the Raft log-consistency provider no longer keeps: with
/// <c>RaftLogConsistencyOptions.TrimHistory</c> the events before the latest snapshot are dropped.
/// </summary>
[GenerateSerializer]
public sealed class RaftEventHistoryTrimmedException : OrleansException
{
    /// <summary>Creates the exception with a default message.</summary>
    public RaftEventHistoryTrimmedException()
        : base("The requested events were trimmed from the grain's journal (RaftLogConsistencyOptions.TrimHistory).")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    /// <param name="message">What was asked and what is kept.</param>
    public RaftEventHistoryTrimmedException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and its cause.</summary>
    /// <param name="message">What was asked and what is kept.</param>
    /// <param name="innerException">The cause.</param>
    public RaftEventHistoryTrimmedException(string message, Exception? innerException)
        : base(message, innerException!)
    {
    }
}
