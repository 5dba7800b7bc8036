using System.Buffers.Binary;
using System.Text;
using Raft.Core.Membership;
using Raft.Core.Runtime;

namespace Orleans.Raft.Networking;

/// <summary>
/// The bytes of a membership change forwarded over gRPC (<see cref="ForwardingProtocol.ChangeMembership"/>): a request
/// is <c>[operation:1][node id, UTF-8]</c>, or with an address <c>[operation | 0x80:1][node id's length:4, little-endian][node
/// id, UTF-8][address, UTF-8]</c> (a silo of the previous release refuses it as malformed); a reply is <c>[outcome:1]</c> followed by the encoded configuration when
/// done, else by a UTF-8 explanation. The outcome names the exception the leader's silo threw, so the caller throws the
/// same kind (what to retry, and when, depends on it).
/// </summary>
internal static class MembershipFrames
{
    private enum Outcome : byte
    {
        Done = 0,
        NotLeader = 1,
        Rejected = 2,
        Dropped = 3,
        TimedOut = 4,
        Invalid = 5,
        Failed = 6,
        Superseded = 7,
        Unknown = 8,
        NotSupported = 9,
    }

    private const byte WithAddress = 0x80;

    public static byte[] EncodeRequest(RaftMembershipRequest request)
    {
        var id = Encoding.UTF8.GetBytes(request.NodeId);
        if (request.Address is not { } address)
        {
            return [(byte)request.Operation, .. id];
        }

        var length = new byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(length, id.Length);
        return [(byte)((byte)request.Operation | WithAddress), .. length, .. id, .. Encoding.UTF8.GetBytes(address)];
    }

    public static RaftMembershipRequest DecodeRequest(byte[] frame)
    {
        var operation = frame.Length > 0 ? (byte)(frame[0] & ~WithAddress) : (byte)0;
        if (frame.Length < 2 || operation is not ((byte)RaftMembershipOperation.AddVoter or (byte)RaftMembershipOperation.RemoveMember))
        {
            throw Malformed(frame);
        }

        if ((frame[0] & WithAddress) == 0)
        {
            return new RaftMembershipRequest((RaftMembershipOperation)operation, Encoding.UTF8.GetString(frame, 1, frame.Length - 1));
        }

        var idLength = frame.Length >= 5 ? BinaryPrimitives.ReadInt32LittleEndian(frame.AsSpan(1)) : -1;
        if (idLength <= 0 || idLength >= frame.Length - 5)
        {
            throw Malformed(frame);
        }

        return new RaftMembershipRequest(
            (RaftMembershipOperation)operation, Encoding.UTF8.GetString(frame, 5, idLength), Encoding.UTF8.GetString(frame, 5 + idLength, frame.Length - 5 - idLength));
    }

    private static InvalidDataException Malformed(byte[] frame) =>
        new($"A forwarded membership change is malformed ({frame.Length} bytes, operation {(frame.Length > 0 ? frame[0] : -1)}).");

    public static byte[] EncodeDone(ClusterConfiguration configuration) => [(byte)Outcome.Done, .. configuration.Encode()];

    // What the leader's silo threw, by kind; anything else is reported as a failure with its type and message.
    public static byte[] EncodeFailure(Exception exception)
    {
        var outcome = exception switch
        {
            NotLeaderException or RaftNodeStoppedException => Outcome.NotLeader,
            RequestRejectedException => Outcome.Rejected,
            ProposalSupersededException => Outcome.Superseded,
            ProposalResultUnknownException => Outcome.Unknown,
            NotSupportedException => Outcome.NotSupported,
            ProposalDroppedException => Outcome.Dropped,
            TimeoutException => Outcome.TimedOut,
            ArgumentException => Outcome.Invalid,
            _ => Outcome.Failed,
        };
        var text = outcome == Outcome.Failed ? $"{exception.GetType().Name}: {exception.Message}" : exception.Message;
        return [(byte)outcome, .. Encoding.UTF8.GetBytes(text)];
    }

    // The configuration, or the leader's failure thrown again here (its message prefixed with who answered).
    public static ClusterConfiguration DecodeReply(byte[] frame, string leaderId)
    {
        if (frame.Length == 0 || frame[0] > (byte)Outcome.NotSupported)
        {
            throw new InvalidDataException($"The answer of node '{leaderId}' to a membership change is malformed.");
        }

        if ((Outcome)frame[0] == Outcome.Done)
        {
            return ClusterConfiguration.Decode(frame.AsSpan(1));
        }

        var message = $"Node '{leaderId}' answered: {Encoding.UTF8.GetString(frame, 1, frame.Length - 1)}";
        throw (Outcome)frame[0] switch
        {
            Outcome.NotLeader => new NotLeaderException(message),
            Outcome.Rejected => new RequestRejectedException(message),
            Outcome.Dropped => new ProposalDroppedException(message),
            Outcome.TimedOut => new TimeoutException(message),
            Outcome.Invalid => new ArgumentException(message),
            Outcome.Superseded => new ProposalSupersededException(message),
            Outcome.Unknown => new ProposalResultUnknownException(message),
            Outcome.NotSupported => new NotSupportedException(message),
            _ => new InvalidOperationException(message),
        };
    }
}
