using System.Buffers.Binary;
using System.Text;

namespace Raft.Testing.KeyValue;

/// <summary>A command for <see cref="KvStateMachine"/>, as it travels in a log entry.</summary>
/// <remarks>
/// Layout: type (1 byte), request id (8 bytes, little-endian), then key, value and expected as strings, each a
/// 4-byte length (-1 for null) followed by UTF-8 bytes. The request id makes every command unique, so the simulator
/// can tell a command applied twice from two equal commands.
/// </remarks>
/// <param name="Type">The operation.</param>
/// <param name="RequestId">Unique per client request.</param>
/// <param name="Key">The key it touches.</param>
/// <param name="Value">For Put and Cas, the value to store.</param>
/// <param name="Expected">For Cas, the value the key must hold (null: absent).</param>
public sealed record KvCommand(KvCommandType Type, long RequestId, string Key, string? Value = null, string? Expected = null)
{
    /// <summary>Serializes the command.</summary>
    /// <returns>The bytes to propose.</returns>
    public byte[] Encode()
    {
        var buffer = new byte[1 + 8 + StringSize(Key) + StringSize(Value) + StringSize(Expected)];
        buffer[0] = (byte)Type;
        BinaryPrimitives.WriteInt64LittleEndian(buffer.AsSpan(1), RequestId);
        var offset = 9;
        offset += WriteString(buffer.AsSpan(offset), Key);
        offset += WriteString(buffer.AsSpan(offset), Value);
        WriteString(buffer.AsSpan(offset), Expected);
        return buffer;
    }

    /// <summary>Deserializes a command written by <see cref="Encode"/>.</summary>
    /// <param name="data">The entry's data.</param>
    /// <returns>The command.</returns>
    /// <exception cref="FormatException">The bytes are not a command.</exception>
    public static KvCommand Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 9 || data[0] > (byte)KvCommandType.Cas)
        {
            throw new FormatException($"Not a key-value command ({data.Length} bytes).");
        }

        var type = (KvCommandType)data[0];
        var requestId = BinaryPrimitives.ReadInt64LittleEndian(data[1..]);
        var offset = 9;
        var key = ReadString(data, ref offset) ?? throw new FormatException("A key-value command has no key.");
        var value = ReadString(data, ref offset);
        var expected = ReadString(data, ref offset);
        if (offset != data.Length)
        {
            throw new FormatException($"A key-value command has {data.Length - offset} trailing bytes.");
        }

        return new KvCommand(type, requestId, key, value, expected);
    }

    internal static int StringSize(string? s) => 4 + (s is null ? 0 : Encoding.UTF8.GetByteCount(s));

    internal static int WriteString(Span<byte> destination, string? s)
    {
        if (s is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination, -1);
            return 4;
        }

        var length = Encoding.UTF8.GetBytes(s, destination[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(destination, length);
        return 4 + length;
    }

    internal static string? ReadString(ReadOnlySpan<byte> data, ref int offset)
    {
        if (offset + 4 > data.Length)
        {
            throw new FormatException("A key-value message is truncated.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(data[offset..]);
        offset += 4;
        if (length == -1)
        {
            return null;
        }

        if (length < 0 || offset + length > data.Length)
        {
            throw new FormatException("A key-value message has a bad string length.");
        }

        var s = Encoding.UTF8.GetString(data.Slice(offset, length));
        offset += length;
        return s;
    }
}
