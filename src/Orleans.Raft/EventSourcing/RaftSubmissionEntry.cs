using Orleans.EventSourcing.Common;

namespace Orleans.Raft.EventSourcing;

// A raised event waiting to be confirmed, already encoded as the journal record that will carry it: serializing at
// RaiseEvent time makes an unserializable event fail in the caller, before anything is queued.
internal sealed class RaftSubmissionEntry<TEntry> : SubmissionEntry<TEntry>
{
    public long Sequence;

    public byte[] Record = [];
}
