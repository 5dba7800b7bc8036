namespace Raft.Testing.KeyValue;

/// <summary>What <see cref="KvStateMachine"/> answers to a command.</summary>
/// <remarks>Layout: 1 byte (0 or 1 for <paramref name="Ok"/>), then <paramref name="Value"/> as a length-prefixed string.</remarks>
/// <param name="Ok">For Cas: whether it swapped; true for the other commands.</param>
/// <param name="Value">For Get: the value read (null: absent).</param>
public sealed record KvResult(bool Ok, string? Value)
{
    /// <summary>Serializes the result.</summary>
    /// <returns>The bytes handed back to the proposer.</returns>
    public byte[] Encode()
    {
        var buffer = new byte[1 + KvCommand.StringSize(Value)];
        buffer[0] = Ok ? (byte)1 : (byte)0;
        KvCommand.WriteString(buffer.AsSpan(1), Value);
        return buffer;
    }

    /// <summary>Deserializes a result written by <see cref="Encode"/>.</summary>
    /// <param name="data">The bytes.</param>
    /// <returns>The result.</returns>
    /// <exception cref="FormatException">The bytes are not a result.</exception>
    public static KvResult Decode(ReadOnlySpan<byte> data)
    {
        if (data.Length < 5 || data[0] > 1)
        {
            throw new FormatException($"Not a key-value result ({data.Length} bytes).");
        }

        var offset = 1;
        var value = KvCommand.ReadString(data, ref offset);
        if (offset != data.Length)
        {
            throw new FormatException($"A key-value result has {data.Length - offset} trailing bytes.");
        }

        return new KvResult(data[0] == 1, value);
    }
}
