using Raft.Core.Messages;

namespace Raft.Transport.Grpc.Tests.Infrastructure;

public static class Messages
{
    public static Message Heartbeat(string from, string to, long index) =>
        new() { Type = MessageType.Heartbeat, From = from, To = to, Term = 1, Index = index };

    public static Message Append(string from, string to, long index, int payloadBytes) => new()
    {
        Type = MessageType.AppendEntries,
        From = from,
        To = to,
        Term = 1,
        Index = index,
        Entries = [new Entry(index + 1, 1, EntryType.Normal, new byte[payloadBytes])],
    };
}
