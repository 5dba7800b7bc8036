using Google.Protobuf;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Mapping;

/// <summary>The one place where Raft.Core's message types and their protobuf forms are converted.</summary>
/// <remarks>
/// Outgoing entry payloads are wrapped, not copied: <see cref="Entry"/> data is immutable by contract. Incoming
/// messages are checked before they reach the engine (known types, sender and receiver as the call says, entries
/// consecutive and within the size limit); a message that fails a check is refused as a whole.
/// </remarks>
internal static class MessageMapper
{
    public static Proto.RaftMessage ToProto(Message message)
    {
        var proto = new Proto.RaftMessage
        {
            Type = (Proto.MessageType)message.Type,
            From = message.From,
            To = message.To,
            Term = message.Term,
            LogTerm = message.LogTerm,
            Index = message.Index,
            Commit = message.Commit,
            Reject = message.Reject,
            RejectHint = message.RejectHint,
        };

        if (!message.Context.IsEmpty)
        {
            proto.Context = UnsafeByteOperations.UnsafeWrap(message.Context);
        }

        var entries = message.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            var entry = entries[i];
            proto.Entries.Add(new Proto.Entry
            {
                Index = entry.Index,
                Term = entry.Term,
                Type = (Proto.EntryType)entry.Type,
                Data = entry.Data.IsEmpty ? ByteString.Empty : UnsafeByteOperations.UnsafeWrap(entry.Data),
            });
        }

        if (message.Snapshot is { } snapshot)
        {
            proto.Snapshot = new Proto.SnapshotMetadata { Index = snapshot.Index, Term = snapshot.Term };
            proto.Snapshot.Voters.AddRange(snapshot.Configuration.Voters);
            proto.Snapshot.Learners.AddRange(snapshot.Configuration.Learners);
        }

        return proto;
    }

    /// <summary>Total payload bytes of a message's entries, the quantity <see cref="GrpcTransportOptions.MaxEntriesBytes"/> limits.</summary>
    public static long EntriesBytes(Message message)
    {
        long total = 0;
        var entries = message.Entries;
        for (var i = 0; i < entries.Count; i++)
        {
            total += entries[i].Data.Length;
        }

        return total;
    }

    /// <summary>Converts and checks a received message.</summary>
    /// <param name="proto">The message as received.</param>
    /// <param name="sender">The node the call comes from (its header); the message must be from it.</param>
    /// <param name="receiver">This node; the message must be for it.</param>
    /// <param name="maxEntriesBytes">The most entry payload bytes one message may carry.</param>
    /// <exception cref="MalformedMessageException">The message is not a valid Raft message from the sender to this node.</exception>
    public static Message FromProto(Proto.RaftMessage proto, string sender, string receiver, long maxEntriesBytes)
    {
        var type = (MessageType)proto.Type;
        if (!Enum.IsDefined(type) || (int)proto.Type is < 0 or > byte.MaxValue)
        {
            throw new MalformedMessageException($"unknown message type {(int)proto.Type}");
        }

        if (!string.Equals(proto.From, sender, StringComparison.Ordinal))
        {
            throw new MalformedMessageException($"a {type} message claims to be from '{proto.From}' on a call from '{sender}'");
        }

        if (!string.Equals(proto.To, receiver, StringComparison.Ordinal))
        {
            throw new MalformedMessageException($"a {type} message for '{proto.To}' arrived at node '{receiver}'");
        }

        var entries = proto.Entries.Count == 0 ? [] : new Entry[proto.Entries.Count];
        long entriesBytes = 0;
        for (var i = 0; i < entries.Length; i++)
        {
            var e = proto.Entries[i];
            var entryType = (EntryType)e.Type;
            if (!Enum.IsDefined(entryType) || (int)e.Type is < 0 or > byte.MaxValue)
            {
                throw new MalformedMessageException($"entry {e.Index} has unknown type {(int)e.Type}");
            }

            if (i > 0 && e.Index != entries[i - 1].Index + 1)
            {
                throw new MalformedMessageException($"entries are not consecutive: {entries[i - 1].Index} is followed by {e.Index}");
            }

            entriesBytes += e.Data.Length;
            if (entriesBytes > maxEntriesBytes)
            {
                throw new MalformedMessageException($"the entries carry more than the limit of {maxEntriesBytes} bytes");
            }

            entries[i] = new Entry(e.Index, e.Term, entryType, e.Data.IsEmpty ? ReadOnlyMemory<byte>.Empty : e.Data.Memory);
        }

        SnapshotMetadata? snapshot = null;
        if (proto.Snapshot is { } s)
        {
            try
            {
                snapshot = new SnapshotMetadata(s.Index, s.Term, new ClusterConfiguration(s.Voters, s.Learners));
            }
            catch (ArgumentException ex)
            {
                throw new MalformedMessageException($"the snapshot configuration is invalid: {ex.Message}");
            }
        }

        return new Message
        {
            Type = type,
            From = proto.From,
            To = proto.To,
            Term = proto.Term,
            LogTerm = proto.LogTerm,
            Index = proto.Index,
            Entries = entries,
            Commit = proto.Commit,
            Reject = proto.Reject,
            RejectHint = proto.RejectHint,
            Context = proto.Context.IsEmpty ? ReadOnlyMemory<byte>.Empty : proto.Context.Memory,
            Snapshot = snapshot,
        };
    }
}
