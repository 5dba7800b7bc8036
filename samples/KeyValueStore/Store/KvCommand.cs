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
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write((byte)Operation);
            WriteString(writer, Key);
            WriteString(writer, Value);
            WriteString(writer, Expected);
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes bytes written by <see cref="Encode"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The command.</returns>
    /// <exception cref="FormatException">The bytes are not a command.</exception>
    public static KvCommand Decode(ReadOnlyMemory<byte> data)
    {
        try
        {
            using var reader = new BinaryReader(new MemoryStream(data.ToArray()), Encoding.UTF8);
            var operation = (KvOperation)reader.ReadByte();
            if (operation > KvOperation.Cas)
            {
                throw new FormatException($"Unknown operation {(byte)operation}.");
            }

            var command = new KvCommand(operation, ReadString(reader) ?? throw new FormatException("A command has no key."), ReadString(reader), ReadString(reader));
            if (reader.BaseStream.Position != data.Length)
            {
                throw new FormatException("A command has trailing bytes.");
            }

            return command;
        }
        catch (EndOfStreamException ex)
        {
            throw new FormatException("A command is truncated.", ex);
        }
    }

    internal static void WriteString(BinaryWriter writer, string? value)
    {
        if (value is null)
        {
            writer.Write(-1);
            return;
        }

        var bytes = Encoding.UTF8.GetBytes(value);
        writer.Write(bytes.Length);
        writer.Write(bytes);
    }

    internal static string? ReadString(BinaryReader reader)
    {
        var length = reader.ReadInt32();
        if (length == -1)
        {
            return null;
        }

        if (length < 0 || length > reader.BaseStream.Length - reader.BaseStream.Position)
        {
            throw new FormatException("A string has a bad length.");
        }

        return Encoding.UTF8.GetString(reader.ReadBytes(length));
    }
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
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Ok);
            KvCommand.WriteString(writer, Value);
        }

        return buffer.ToArray();
    }

    /// <summary>Decodes bytes written by <see cref="Encode"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The result.</returns>
    public static KvResult Decode(ReadOnlyMemory<byte> data)
    {
        using var reader = new BinaryReader(new MemoryStream(data.ToArray()), Encoding.UTF8);
        return new KvResult(reader.ReadBoolean(), KvCommand.ReadString(reader));
    }
}
