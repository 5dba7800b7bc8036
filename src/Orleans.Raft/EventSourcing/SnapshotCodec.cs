using System.Buffers.Binary;
using System.Text;

namespace Orleans.Raft.EventSourcing;

// A snapshot as stored in the journal: a format byte, the journal incarnation (epoch) it belongs to, the writer table
// as of the snapshot's position, then the serialized confirmed view.
internal static class SnapshotCodec
{
    public const byte Format = 1;

    public static byte[] Encode(string epoch, WriterTable writers, ReadOnlySpan<byte> view)
    {
        var epochBytes = Encoding.UTF8.GetBytes(epoch);
        var size = 1 + 4 + epochBytes.Length + 8 + 4 + (writers.Count * 32) + view.Length;
        var buffer = new byte[size];
        var span = buffer.AsSpan();
        span[0] = Format;
        BinaryPrimitives.WriteInt32LittleEndian(span[1..], epochBytes.Length);
        epochBytes.CopyTo(span[5..]);
        var at = 5 + epochBytes.Length;
        BinaryPrimitives.WriteInt64LittleEndian(span[at..], writers.EvictedThrough);
        BinaryPrimitives.WriteInt32LittleEndian(span[(at + 8)..], writers.Count);
        at += 12;
        foreach (var (writer, sequence, position) in writers.Entries)
        {
            writer.TryWriteBytes(span.Slice(at, 16));
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 16)..], sequence);
            BinaryPrimitives.WriteInt64LittleEndian(span[(at + 24)..], position);
            at += 32;
        }

        view.CopyTo(span[at..]);
        return buffer;
    }

    public static (string Epoch, long EvictedThrough, List<(Guid Writer, long Sequence, long Position)> Writers, ReadOnlyMemory<byte> View) Decode(
        ReadOnlyMemory<byte> snapshot)
    {
        try
        {
            var span = snapshot.Span;
            if (span[0] != Format)
            {
                throw new InvalidDataException($"Unknown event-sourcing snapshot format {span[0]} (expected {Format}).");
            }

            var epochLength = BinaryPrimitives.ReadInt32LittleEndian(span[1..]);
            var epoch = Encoding.UTF8.GetString(span.Slice(5, epochLength));
            var at = 5 + epochLength;
            var evicted = BinaryPrimitives.ReadInt64LittleEndian(span[at..]);
            var count = BinaryPrimitives.ReadInt32LittleEndian(span[(at + 8)..]);
            at += 12;
            var writers = new List<(Guid, long, long)>(count);
            for (var i = 0; i < count; i++)
            {
                writers.Add((new Guid(span.Slice(at, 16)), BinaryPrimitives.ReadInt64LittleEndian(span[(at + 16)..]),
                    BinaryPrimitives.ReadInt64LittleEndian(span[(at + 24)..])));
                at += 32;
            }

            return (epoch, evicted, writers, snapshot[at..]);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            throw new InvalidDataException($"An event-sourcing snapshot of {snapshot.Length} bytes is truncated or corrupt.", ex);
        }
        catch (IndexOutOfRangeException ex)
        {
            throw new InvalidDataException($"An event-sourcing snapshot of {snapshot.Length} bytes is truncated or corrupt.", ex);
        }
    }
}
