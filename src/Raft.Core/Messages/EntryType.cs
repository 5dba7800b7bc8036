namespace Raft.Core.Messages;

/// <summary>What a log entry carries.</summary>
public enum EntryType : byte
{
    /// <summary>A client command, handed to the state machine when committed.</summary>
    Normal = 0,

    /// <summary>The empty entry a new leader appends in its own term (§5.4.2, §8), never shown to the state machine.</summary>
    NoOp = 1,

    /// <summary>A cluster configuration change (reserved for membership changes).</summary>
    ConfigChange = 2,
}
