using Google.Protobuf;
using Raft.Core.Membership;
using Raft.Core.Messages;
using Raft.Testing.Conformance;
using Raft.Transport.Grpc.Mapping;
using Proto = Raft.Transport.Grpc.Protos;

namespace Raft.Transport.Grpc.Tests;

public sealed class MessageMapperTests
{
    [Fact]
    public void EveryMessageType_HasTheSameNumberInTheProto()
    {
        // protoc names MESSAGE_TYPE_PRE_VOTE as PreVote, so equal names mean the same value under the same name.
        foreach (var type in Enum.GetValues<MessageType>())
        {
            Assert.Equal(type.ToString(), ((Proto.MessageType)(int)type).ToString());
        }

        foreach (var type in Enum.GetValues<EntryType>())
        {
            Assert.Equal(type.ToString(), ((Proto.EntryType)(int)type).ToString());
        }

        Assert.Equal(Enum.GetValues<MessageType>().Length, Enum.GetValues<Proto.MessageType>().Length);
    }

    [Fact]
    public void AMessage_ThroughTheWireFormat_ComesBackEqual()
    {
        var message = new Message
        {
            Type = MessageType.InstallSnapshot,
            From = "a",
            To = "b",
            Term = long.MaxValue,
            LogTerm = 3,
            Index = -1,
            Commit = 9,
            Reject = true,
            RejectHint = 4,
            Context = new byte[] { 1, 2, 3 },
            Entries = [new Entry(5, 2, EntryType.ConfigChange, new byte[] { 9 }), new Entry(6, 2, EntryType.NoOp, ReadOnlyMemory<byte>.Empty)],
            Snapshot = new SnapshotMetadata(4, 2, new ClusterConfiguration(["a", "b"], ["c"])),
        };

        var bytes = MessageMapper.ToProto(message).ToByteArray();
        var back = MessageMapper.FromProto(Proto.RaftMessage.Parser.ParseFrom(bytes), "a", "b", 1024);

        RaftAssert.MessageEqual(message, back);
        Assert.Equal(message.Snapshot, back.Snapshot);
    }

    [Fact]
    public void EntryPayloads_AreWrappedNotCopied_OnTheWayOut()
    {
        var payload = new byte[] { 1, 2, 3 };
        var message = new Message { Type = MessageType.AppendEntries, From = "a", To = "b", Entries = [new Entry(1, 1, EntryType.Normal, payload)] };

        var proto = MessageMapper.ToProto(message);
        payload[0] = 42;

        Assert.Equal(42, proto.Entries[0].Data[0]);
    }
}
