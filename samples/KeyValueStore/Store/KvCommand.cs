using System.Buffers.Binary;
using System.Text;

namespace KeyValueStore.Store;

/// <summary>What a client asks of the store.</summary>
public enum KvOperation : byte
{
    /// <summary>Read a key (a query: served by a read index, not through the log).</summary>
    Get = 0,

    /// <summary>Set a key.</summary>
    Put = 1,

    /// <summary>Remove a key.</summary>
    Delete = 2,

    /// <summary>Set a key only if it currently holds the expected value (null: absent).</summary>
    Cas = 3,
}

/// <summary>One key-value command, as proposed to the Raft log (or sent as a query, for gets).</summary>
/// <param name="Operation">The operation.</param>
/// <param name="Key">The key.</param>
/// <param name="Value">The new value (put, cas).</param>
/// <param name="Expected">The value a cas expects (null: the key is absent).</param>
public sealed record KvCommand(KvOperation Operation, string Key, string? Value = null, string? Expected = null)
{
    /// <summary>Encodes the command: the operation byte, then key, value and expected as length-prefixed UTF-8 (-1 for null).</summary>
    /// <returns>The bytes.</returns>
    public byte[] Encode()
    {
        var bytes = new byte[1 + Size(Key) + Size(Value) + Size(Expected)];
        bytes[0] = (byte)Operation;
        var position = 1;
        position += WriteString(bytes.AsSpan(position), Key);
        position += WriteString(bytes.AsSpan(position), Value);
        WriteString(bytes.AsSpan(position), Expected);
        return bytes;
    }

    /// <summary>Decodes bytes written by <see cref="Encode"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The command.</returns>
    /// <exception cref="FormatException">The bytes are not a command.</exception>
    public static KvCommand Decode(ReadOnlyMemory<byte> data)
    {
        var view = KvCommandView.Parse(data.Span);
        return new KvCommand(
            view.Operation,
            Encoding.UTF8.GetString(view.Key),
            view.HasValue ? Encoding.UTF8.GetString(view.Value) : null,
            view.HasExpected ? Encoding.UTF8.GetString(view.Expected) : null);
    }

    internal static int Size(string? value) => 4 + (value is null ? 0 : Encoding.UTF8.GetByteCount(value));

    // [length:int32 little-endian, -1 for null][UTF-8 bytes]; returns the bytes written.
    internal static int WriteString(Span<byte> destination, string? value)
    {
        if (value is null)
        {
            BinaryPrimitives.WriteInt32LittleEndian(destination, -1);
            return 4;
        }

        var length = Encoding.UTF8.GetBytes(value, destination[4..]);
        BinaryPrimitives.WriteInt32LittleEndian(destination, length);
        return 4 + length;
    }

    internal static string? ReadString(ref ReadOnlySpan<byte> source) =>
        KvCommandView.ReadField(ref source, out var present) is var field && present ? Encoding.UTF8.GetString(field) : null;
}

/// <summary>The answer to a command.</summary>
/// <param name="Ok">False when a cas did not swap, or the command was malformed.</param>
/// <param name="Value">For get: the value (null: absent); for a failed cas: the current value; for a malformed command: the reason.</param>
public sealed record KvResult(bool Ok, string? Value)
{
    /// <summary>Encodes the result: one byte for <see cref="Ok"/>, then the value as in <see cref="KvCommand.Encode"/>.</summary>
    /// <returns>The bytes.</returns>
    public byte[] Encode()
    {
        var bytes = new byte[1 + KvCommand.Size(Value)];
        bytes[0] = Ok ? (byte)1 : (byte)0;
        KvCommand.WriteString(bytes.AsSpan(1), Value);
        return bytes;
    }

    // The same encoding from a value that is already UTF-8 (null: absent), as the state machine stores values.
    internal static byte[] Encode(bool ok, byte[]? utf8Value)
    {
        var bytes = new byte[1 + 4 + (utf8Value?.Length ?? 0)];
        bytes[0] = ok ? (byte)1 : (byte)0;
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(1), utf8Value?.Length ?? -1);
        utf8Value?.CopyTo(bytes.AsSpan(5));
        return bytes;
    }

    /// <summary>Decodes bytes written by <see cref="Encode()"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The result.</returns>
    /// <exception cref="FormatException">The bytes are not a result.</exception>
    public static KvResult Decode(ReadOnlyMemory<byte> data)
    {
        var span = data.Span;
        if (span.IsEmpty)
        {
            throw new FormatException("A result is truncated.");
        }

        var ok = span[0] != 0;
        span = span[1..];
        return new KvResult(ok, KvCommand.ReadString(ref span));
    }
}
