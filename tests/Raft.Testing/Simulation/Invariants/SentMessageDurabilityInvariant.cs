using Raft.Core.Messages;
using Raft.Core.Storage;

namespace Raft.Testing.Simulation.Invariants;

/// <summary>
/// What a node says it has, it has on disk when it says it (§5.1, Figure 2: "respond to RPCs" only after "updating
/// stable storage"): every message leaves in a term the sender made durable, a granted vote leaves only once that vote
/// (or a later term) is durable, and an accepted AppendEntries answer of the sender's durable term names only entries
/// its durable log holds. Checked on every message as it is sent, so a premature answer is caught even when no crash
/// strikes in the window it opens (the end-to-end checks see it only then).
/// </summary>
/// <remarks>
/// Pre-votes are exempt: a pre-candidate asks, and is answered, in the term it would campaign in, which nobody has
/// made durable yet (thesis §9.6).
/// </remarks>
public static class SentMessageDurabilityInvariant
{
    /// <summary>The name reported on a violation.</summary>
    public const string Name = "Messages claim only durable state (§5.1)";

    /// <summary>Checks one message against its sender's durable state at the moment it is sent.</summary>
    /// <param name="message">The message.</param>
    /// <param name="durable">The sender's durable hard state.</param>
    /// <param name="log">The sender's durable log.</param>
    /// <exception cref="InvariantViolationException">The message claims more than the sender's disk holds.</exception>
    public static void Check(Message message, HardState durable, ILogView log)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(log);
        if (message.Type is MessageType.PreVote or MessageType.PreVoteResponse)
        {
            return;
        }

        if (message.Term > durable.Term)
        {
            throw new InvariantViolationException(
                Name, $"{message.From} sent {message.Type} in term {message.Term} to {message.To}, but its durable term is {durable.Term}.");
        }

        // A later durable term keeps the sender from voting again in the vote's term just as well (the engine may
        // grant a vote and move to a later term before one ready saves both).
        if (message.Type == MessageType.VoteResponse && !message.Reject && durable.Term == message.Term && durable.VotedFor != message.To)
        {
            throw new InvariantViolationException(
                Name, $"{message.From} granted its vote in term {message.Term} to {message.To}, but its durable vote is {durable.VotedFor ?? "none"} in term {durable.Term}.");
        }

        // Only in the sender's durable term: an acknowledgement made in an older term may leave after the same ready
        // also moved the sender to a newer leader's term and cut the acknowledged tail (a batch of inputs stepped before
        // one ready: the old leader's appends, then the new leader's conflicting one; simulator seed 51484). It was
        // true when made, and the cut tail cannot have been committed: the newer leader was elected by a majority that
        // lacks it, which no majority holding it could have produced (§5.4.3).
        if (message.Type == MessageType.AppendEntriesResponse && !message.Reject && message.Term == durable.Term && message.Index > log.LastIndex)
        {
            throw new InvariantViolationException(
                Name, $"{message.From} acknowledged entries through {message.Index} to {message.To}, but its durable log ends at {log.LastIndex}.");
        }
    }
}
