using System.Buffers.Binary;

namespace KeyValueStore.Store;

// A command read in place from its encoded bytes (see KvCommand.Encode): the apply path runs on every node for every
// committed command, so it decodes nothing it does not need (values stay UTF-8, as they are stored).
internal readonly ref struct KvCommandView
{
    private KvCommandView(KvOperation operation, ReadOnlySpan<byte> key, ReadOnlySpan<byte> value, bool hasValue, ReadOnlySpan<byte> expected, bool hasExpected)
    {
        Operation = operation;
        Key = key;
        Value = value;
        HasValue = hasValue;
        Expected = expected;
        HasExpected = hasExpected;
    }

    public KvOperation Operation { get; }

    public ReadOnlySpan<byte> Key { get; }

    public ReadOnlySpan<byte> Value { get; }

    public bool HasValue { get; }

    public ReadOnlySpan<byte> Expected { get; }

    public bool HasExpected { get; }

    /// <exception cref="FormatException">The bytes are not a command.</exception>
    public static KvCommandView Parse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new FormatException("A command is truncated.");
        }

        var operation = (KvOperation)data[0];
        if (operation > KvOperation.Cas)
        {
            throw new FormatException($"Unknown operation {(byte)operation}.");
        }

        data = data[1..];
        var key = ReadField(ref data, out var hasKey);
        if (!hasKey)
        {
            throw new FormatException("A command has no key.");
        }

        var value = ReadField(ref data, out var hasValue);
        var expected = ReadField(ref data, out var hasExpected);
        if (!data.IsEmpty)
        {
            throw new FormatException("A command has trailing bytes.");
        }

        return new KvCommandView(operation, key, value, hasValue, expected, hasExpected);
    }

    // [length:int32 little-endian, -1 for null][UTF-8 bytes]; present is false for null.
    internal static ReadOnlySpan<byte> ReadField(scoped ref ReadOnlySpan<byte> source, out bool present)
    {
        if (source.Length < 4)
        {
            throw new FormatException("A command is truncated.");
        }

        var length = BinaryPrimitives.ReadInt32LittleEndian(source);
        if (length == -1)
        {
            source = source[4..];
            present = false;
            return default;
        }

        if (length < 0 || length > source.Length - 4)
        {
            throw new FormatException("A string has a bad length.");
        }

        var field = source.Slice(4, length);
        source = source[(4 + length)..];
        present = true;
        return field;
    }
}
