using System.Buffers;
using System.Text;
using DotNext.IO;
using DotNext.Net.Cluster.Consensus.Raft.StateMachine;
using KeyValueStore.Store;

namespace Benchmarks.DotNext;

/// <summary>
/// The replicated dictionary on DotNext's <see cref="SimpleStateMachine"/>: applies the KeyValueStore sample's put
/// commands the way its <c>KvStateMachine</c> does (UTF-8 values kept as bytes, keys looked up by their characters), and
/// snapshots itself every <see cref="SnapshotEvery"/> entries, the KeyValueStore node's default threshold.
/// </summary>
/// <remarks>
/// DotNext calls <see cref="ApplyAsync"/> from one applier task, never concurrently with itself; snapshots are written
/// between applies, so the dictionary needs no lock here (nothing else reads it).
/// </remarks>
internal sealed class KvStore : SimpleStateMachine
{
    private const long SnapshotEvery = 100_000;
    private const int StackKeyBytes = 256;

    private readonly Dictionary<string, byte[]> _data;
    private readonly Dictionary<string, byte[]>.AlternateLookup<ReadOnlySpan<char>> _byChars;

    public KvStore(DirectoryInfo location)
        : base(location)
    {
        _data = new(StringComparer.Ordinal);
        _byChars = _data.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    protected override ValueTask<bool> ApplyAsync(LogEntry entry, CancellationToken token)
    {
        // The leader's no-op and membership entries carry no command.
        if (entry.IsConfiguration || !entry.TryGetPayload(out var payload) || payload.IsEmpty)
        {
            return ValueTask.FromResult(false);
        }

        var bytes = payload.IsSingleSegment ? payload.FirstSpan : payload.ToArray();
        try
        {
            var command = KvCommandView.Parse(bytes);
            if (command is { Operation: KvOperation.Put, HasValue: true })
            {
                Span<char> buffer = stackalloc char[StackKeyBytes];
                ReadOnlySpan<char> key = command.Key.Length <= buffer.Length ? buffer[..Encoding.UTF8.GetChars(command.Key, buffer)] : Encoding.UTF8.GetString(command.Key);
                _byChars[key] = command.Value.ToArray();
            }
        }
        catch (FormatException)
        {
            // As in KvStateMachine, a command that does not decode changes nothing (the benchmark sends none).
        }

        return ValueTask.FromResult(entry.Index % SnapshotEvery == 0);
    }

    protected override async ValueTask PersistAsync(IAsyncBinaryWriter writer, CancellationToken token)
    {
        using var image = new MemoryStream();
        using (var output = new BinaryWriter(image, Encoding.UTF8, leaveOpen: true))
        {
            output.Write(_data.Count);
            foreach (var (key, value) in _data)
            {
                output.Write(key);
                output.Write(value.Length);
                output.Write(value);
            }
        }

        await writer.Invoke(image.GetBuffer().AsMemory(0, (int)image.Length), token).ConfigureAwait(false);
    }

    protected override async ValueTask RestoreAsync(FileInfo snapshotFile, CancellationToken token)
    {
        var image = await File.ReadAllBytesAsync(snapshotFile.FullName, token).ConfigureAwait(false);
        using var input = new BinaryReader(new MemoryStream(image), Encoding.UTF8);
        _data.Clear();
        for (var count = input.ReadInt32(); count > 0; count--)
        {
            var key = input.ReadString();
            _data[key] = input.ReadBytes(input.ReadInt32());
        }
    }
}
