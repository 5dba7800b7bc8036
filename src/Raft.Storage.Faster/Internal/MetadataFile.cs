using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace Raft.Storage.Faster.Internal;

// What the log's metadata file records. DurableUntil is a lower bound of the durable log (every batch before it was
// fdatasync'ed before the slot was written), so recovery treats any damage before it as corruption, never as a torn
// tail. Epoch counts opens: records carry the epoch that wrote them.
internal readonly record struct LogMetadata(long Sequence, int Epoch, int PageSizeBits, int SegmentSizeBits, long BeginAddress, long DurableUntil);

// The log's metadata: two checksummed slots of a fixed, preallocated file, written alternately with one pwrite and one
// fdatasync, so a torn write can only damage the slot being written and the other one still holds the previous state.
internal sealed class MetadataFile : IDisposable
{
    public const int SlotSize = 4096;
    private const uint Magic = 0x4D4C5246; // "FRLM"
    private const ushort Version = 1;
    private const int CrcOffset = 48;

    private readonly SafeFileHandle _handle;
    private long _sequence;

    private MetadataFile(string path, SafeFileHandle handle)
    {
        Path = path;
        _handle = handle;
    }

    public string Path { get; }

    // Creates the file (two empty slots, fsynced, directory fsynced) when it does not exist.
    public static MetadataFile OpenOrCreate(string path)
    {
        if (!File.Exists(path))
        {
            var temp = path + ".tmp";
            using (var created = File.OpenHandle(temp, FileMode.Create, FileAccess.ReadWrite, FileShare.None))
            {
                RandomAccess.Write(created, new byte[2 * SlotSize], 0);
                NativeIo.FlushData(created, temp);
            }

            File.Move(temp, path);
            NativeIo.FlushDirectory(System.IO.Path.GetDirectoryName(path)!);
        }

        return Open(path);
    }

    public static MetadataFile Open(string path) =>
        new(path, File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read));

    // The newest valid slot, or null when none is valid; `damaged` tells whether a slot held something other than zeros.
    public LogMetadata? ReadLatest(out bool damaged)
    {
        var buffer = new byte[2 * SlotSize];
        var read = RandomAccess.Read(_handle, buffer, 0);
        damaged = read != buffer.Length;
        LogMetadata? best = null;
        for (var slot = 0; slot < 2; slot++)
        {
            var span = buffer.AsSpan(slot * SlotSize, SlotSize);
            var parsed = Parse(span);
            if (parsed is null)
            {
                damaged |= span.ContainsAnyExcept((byte)0);
            }
            else if (best is null || parsed.Value.Sequence > best.Value.Sequence)
            {
                best = parsed;
            }
        }

        if (best is { } latest)
        {
            _sequence = latest.Sequence;
        }

        return best;
    }

    // Writes the next slot and makes it durable; returns what was written.
    public LogMetadata Write(LogMetadata metadata)
    {
        var next = metadata with { Sequence = _sequence + 1 };
        var slot = new byte[SlotSize];
        BinaryPrimitives.WriteUInt32LittleEndian(slot, Magic);
        BinaryPrimitives.WriteUInt16LittleEndian(slot.AsSpan(4), Version);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(8), next.Sequence);
        BinaryPrimitives.WriteInt32LittleEndian(slot.AsSpan(16), next.Epoch);
        BinaryPrimitives.WriteInt32LittleEndian(slot.AsSpan(20), next.PageSizeBits);
        BinaryPrimitives.WriteInt32LittleEndian(slot.AsSpan(24), next.SegmentSizeBits);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(32), next.BeginAddress);
        BinaryPrimitives.WriteInt64LittleEndian(slot.AsSpan(40), next.DurableUntil);
        BinaryPrimitives.WriteUInt32LittleEndian(slot.AsSpan(CrcOffset), Crc32C.Compute(slot.AsSpan(0, CrcOffset)));
        RandomAccess.Write(_handle, slot, (next.Sequence % 2) * SlotSize);
        NativeIo.FlushData(_handle, Path);
        _sequence = next.Sequence;
        return next;
    }

    public void Dispose() => _handle.Dispose();

    private static LogMetadata? Parse(ReadOnlySpan<byte> slot)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(slot) != Magic ||
            BinaryPrimitives.ReadUInt16LittleEndian(slot[4..]) != Version ||
            BinaryPrimitives.ReadUInt32LittleEndian(slot[CrcOffset..]) != Crc32C.Compute(slot[..CrcOffset]))
        {
            return null;
        }

        return new LogMetadata(
            BinaryPrimitives.ReadInt64LittleEndian(slot[8..]),
            BinaryPrimitives.ReadInt32LittleEndian(slot[16..]),
            BinaryPrimitives.ReadInt32LittleEndian(slot[20..]),
            BinaryPrimitives.ReadInt32LittleEndian(slot[24..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[32..]),
            BinaryPrimitives.ReadInt64LittleEndian(slot[40..]));
    }
}
