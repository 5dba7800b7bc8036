using System.Buffers.Binary;
using System.Text;

namespace Orleans.Raft.Networking;

/// <summary>What the leader did with one forwarded command.</summary>
internal enum ForwardOutcome : byte
{
    /// <summary>Applied: the index and the state machine's answer follow.</summary>
    Applied = 1,

    /// <summary>Not applied: the receiving node does not lead.</summary>
    NotLeader = 2,

    /// <summary>Not applied: the leader refused it for now (overloaded, leadership moving, too large).</summary>
    Dropped = 3,

    /// <summary>Not applied: another entry took its place after a leader change.</summary>
    Superseded = 4,

    /// <summary>Unknown: the leader stopped or failed before it could tell.</summary>
    Unknown = 5,
}

/// <summary>One forwarded command as it travels in a request frame.</summary>
internal readonly record struct ForwardRequest(long Id, ReadOnlyMemory<byte> Command);

/// <summary>The answer to one forwarded command.</summary>
/// <param name="Id">The request it answers.</param>
/// <param name="Outcome">What happened.</param>
/// <param name="Index">The log index of the command when applied.</param>
/// <param name="Payload">The state machine's answer when applied, else a UTF-8 explanation.</param>
internal readonly record struct ForwardReply(long Id, ForwardOutcome Outcome, long Index, ReadOnlyMemory<byte> Payload)
{
    /// <summary>Not an answer: tells the leader's reply writer to send the goodbye frame at this point of the replies.</summary>
    public static readonly ForwardReply Goodbye = new(0, 0, 0, ReadOnlyMemory<byte>.Empty);

    /// <summary>The answer to a write that was certainly not applied (the follower retries it with the next leader).</summary>
    public static ForwardReply NotApplied(long id, string why) => new(id, ForwardOutcome.NotLeader, 0, ForwardingFrames.Text(why));

    public string Detail => Encoding.UTF8.GetString(Payload.Span);

    public bool IsGoodbye => Outcome == 0;
}

/// <summary>
/// The forwarding stream's frames: a request frame carries many commands (<c>[id:8][length:4][bytes]</c> each), a
/// reply frame many answers (<c>[id:8][outcome:1][index:8][length:4][bytes]</c> each), little-endian. Batching many
/// per frame is the point: one HTTP/2 DATA frame and one gRPC message for everything queued at that moment.
/// </summary>
internal static class ForwardingFrames
{
    public const int RequestHeaderBytes = 12;
    public const int ReplyHeaderBytes = 21;

    /// <summary>
    /// The leader's goodbye when its endpoint stops: it proposes no write it reads from now on (each is answered as not
    /// applied), and the follower should send nothing more and close its side. One byte, which no reply frame can be
    /// (the first frame, "accepted", is empty).
    /// </summary>
    /// <returns>A new goodbye frame.</returns>
    public static byte[] NewGoodbye() => [0];

    public static bool IsGoodbye(byte[] frame) => frame.Length == 1 && frame[0] == 0;

    public static byte[] EncodeRequests(IReadOnlyList<ForwardRequest> requests)
    {
        var size = 0;
        foreach (var request in requests)
        {
            size += RequestHeaderBytes + request.Command.Length;
        }

        var frame = new byte[size];
        var span = frame.AsSpan();
        foreach (var request in requests)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span, request.Id);
            BinaryPrimitives.WriteInt32LittleEndian(span[8..], request.Command.Length);
            request.Command.Span.CopyTo(span[RequestHeaderBytes..]);
            span = span[(RequestHeaderBytes + request.Command.Length)..];
        }

        return frame;
    }

    // The commands are slices of the frame: no copy (the frame is never written to again).
    public static List<ForwardRequest> DecodeRequests(byte[] frame)
    {
        var requests = new List<ForwardRequest>();
        var offset = 0;
        while (offset < frame.Length)
        {
            var span = frame.AsSpan(offset);
            if (span.Length < RequestHeaderBytes || BinaryPrimitives.ReadInt32LittleEndian(span[8..]) is var length && (length < 0 || length > span.Length - RequestHeaderBytes))
            {
                throw new InvalidDataException($"A forwarded-write frame is malformed at byte {offset} of {frame.Length}.");
            }

            requests.Add(new ForwardRequest(BinaryPrimitives.ReadInt64LittleEndian(span), frame.AsMemory(offset + RequestHeaderBytes, length)));
            offset += RequestHeaderBytes + length;
        }

        return requests;
    }

    public static byte[] EncodeReplies(IReadOnlyList<ForwardReply> replies)
    {
        var size = 0;
        foreach (var reply in replies)
        {
            size += ReplyHeaderBytes + reply.Payload.Length;
        }

        var frame = new byte[size];
        var span = frame.AsSpan();
        foreach (var reply in replies)
        {
            BinaryPrimitives.WriteInt64LittleEndian(span, reply.Id);
            span[8] = (byte)reply.Outcome;
            BinaryPrimitives.WriteInt64LittleEndian(span[9..], reply.Index);
            BinaryPrimitives.WriteInt32LittleEndian(span[17..], reply.Payload.Length);
            reply.Payload.Span.CopyTo(span[ReplyHeaderBytes..]);
            span = span[(ReplyHeaderBytes + reply.Payload.Length)..];
        }

        return frame;
    }

    public static List<ForwardReply> DecodeReplies(byte[] frame)
    {
        var replies = new List<ForwardReply>();
        var offset = 0;
        while (offset < frame.Length)
        {
            var span = frame.AsSpan(offset);
            if (span.Length < ReplyHeaderBytes || BinaryPrimitives.ReadInt32LittleEndian(span[17..]) is var length && (length < 0 || length > span.Length - ReplyHeaderBytes)
                || span[8] is < (byte)ForwardOutcome.Applied or > (byte)ForwardOutcome.Unknown)
            {
                throw new InvalidDataException($"A forwarded-write reply frame is malformed at byte {offset} of {frame.Length}.");
            }

            replies.Add(new ForwardReply(
                BinaryPrimitives.ReadInt64LittleEndian(span), (ForwardOutcome)span[8], BinaryPrimitives.ReadInt64LittleEndian(span[9..]),
                frame.AsMemory(offset + ReplyHeaderBytes, length)));
            offset += ReplyHeaderBytes + length;
        }

        return replies;
    }

    public static ReadOnlyMemory<byte> Text(string text) => Encoding.UTF8.GetBytes(text);
}
