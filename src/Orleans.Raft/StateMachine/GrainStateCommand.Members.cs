namespace Orleans.Raft.StateMachine;

// Format 3: a member's address. After the version (3) and the kind comes the node id, then its address (each a 4-byte
// length and UTF-8 bytes). Outside any client session: setting the same address twice changes nothing, so a retry
// needs no deduplication.
internal sealed partial class GrainStateCommand
{
    public const byte MembersFormatVersion = 3;

    /// <summary>The node whose address a <see cref="CommandKind.SetMemberAddress"/> sets.</summary>
    public string MemberId { get; init; } = "";

    /// <summary>The address a <see cref="CommandKind.SetMemberAddress"/> sets.</summary>
    public string MemberAddress { get; init; } = "";

    public static byte[] SetMemberAddress(string nodeId, string address)
    {
        var buffer = new byte[2 + 8 + System.Text.Encoding.UTF8.GetByteCount(nodeId) + System.Text.Encoding.UTF8.GetByteCount(address)];
        var span = buffer.AsSpan();
        span[0] = MembersFormatVersion;
        span[1] = (byte)CommandKind.SetMemberAddress;
        var offset = 2;
        WriteString(span, ref offset, nodeId);
        WriteString(span, ref offset, address);
        return buffer;
    }

    private static GrainStateCommand DecodeMemberAddress(ReadOnlySpan<byte> span)
    {
        var offset = 2;
        var nodeId = ReadString(span, ref offset);
        var address = ReadString(span, ref offset);
        if (nodeId.Length == 0 || address.Length == 0 || offset != span.Length)
        {
            throw new InvalidDataException($"A member-address command is malformed (node id '{nodeId}', address '{address}', {span.Length - offset} bytes left over).");
        }

        return new GrainStateCommand { Kind = CommandKind.SetMemberAddress, MemberId = nodeId, MemberAddress = address };
    }
}
