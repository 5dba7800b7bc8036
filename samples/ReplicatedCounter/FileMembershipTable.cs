using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace ReplicatedCounter;

// Orleans membership for silos in separate processes on one machine: the table is a file that every silo reads and
// writes under an exclusive lock on a neighbouring lock file, so any silo may die (even by SIGKILL, which releases
// the lock) without taking membership with it. Writes go to a temporary file that is renamed over the table, so a
// kill mid-write leaves the previous table. A real deployment uses a highly available table.
public sealed class FileMembershipTable(string path) : IMembershipTable
{
    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(10);
    private readonly Serializer _serializer = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>();

    public Task InitializeMembershipTable(bool tryInitTableVersion)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        return Update(_ => true);
    }

    public Task DeleteMembershipTableEntries(string clusterId) => Update(table =>
    {
        table.Rows.Clear();
        return true;
    });

    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => Update(table =>
        table.Rows.RemoveAll(r => r.Entry.Status == SiloStatus.Dead && r.Entry.IAmAliveTime < beforeDate.UtcDateTime) > 0);

    public async Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        var table = await ReadAsync();
        return table.ToData(r => r.Entry.SiloAddress.Equals(key));
    }

    public async Task<MembershipTableData> ReadAll() => (await ReadAsync()).ToData(_ => true);

    public async Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
    {
        var inserted = false;
        await Update(table =>
        {
            if (table.Rows.Any(r => r.Entry.SiloAddress.Equals(entry.SiloAddress)) || tableVersion.Version != table.Version + 1)
            {
                return false;
            }

            table.Rows.Add(new Row(entry, table.NewETag()));
            table.Version = tableVersion.Version;
            inserted = true;
            return true;
        });
        return inserted;
    }

    public async Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
    {
        var updated = false;
        await Update(table =>
        {
            var index = table.Rows.FindIndex(r => r.Entry.SiloAddress.Equals(entry.SiloAddress));
            if (index < 0 || table.Rows[index].ETag != etag || tableVersion.Version != table.Version + 1)
            {
                return false;
            }

            table.Rows[index] = new Row(entry, table.NewETag());
            table.Version = tableVersion.Version;
            updated = true;
            return true;
        });
        return updated;
    }

    public Task UpdateIAmAlive(MembershipEntry entry) => Update(table =>
    {
        var index = table.Rows.FindIndex(r => r.Entry.SiloAddress.Equals(entry.SiloAddress));
        if (index < 0)
        {
            return false;
        }

        table.Rows[index].Entry.IAmAliveTime = entry.IAmAliveTime;
        table.Rows[index] = table.Rows[index] with { ETag = table.NewETag() };
        return true;
    });

    private async Task<Table> ReadAsync()
    {
        using var fileLock = await LockAsync();
        return Load();
    }

    // Reads, changes and (when `change` says so) writes the table, all under the lock.
    private async Task Update(Func<Table, bool> change)
    {
        using var fileLock = await LockAsync();
        var table = Load();
        if (change(table) || !File.Exists(path))
        {
            Save(table);
        }
    }

    // .NET takes an exclusive advisory lock (flock) for FileShare.None on Unix; the OS drops it when the process dies.
    private async Task<FileStream> LockAsync()
    {
        var deadline = DateTime.UtcNow + LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(Random.Shared.Next(1, 10));
            }
        }
    }

    // Format: version, version ETag counter, row count, then per row its ETag and the Orleans-serialized entry.
    private Table Load()
    {
        var table = new Table();
        if (!File.Exists(path))
        {
            return table;
        }

        using var reader = new BinaryReader(File.OpenRead(path));
        table.Version = reader.ReadInt32();
        table.NextETag = reader.ReadInt64();
        var rows = reader.ReadInt32();
        for (var i = 0; i < rows; i++)
        {
            var etag = reader.ReadString();
            var entry = _serializer.Deserialize<MembershipEntry>(reader.ReadBytes(reader.ReadInt32()))
                ?? throw new InvalidDataException($"The membership table {path} holds an empty row.");
            table.Rows.Add(new Row(entry, etag));
        }

        return table;
    }

    private void Save(Table table)
    {
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        using (var writer = new BinaryWriter(stream))
        {
            writer.Write(table.Version);
            writer.Write(table.NextETag);
            writer.Write(table.Rows.Count);
            foreach (var row in table.Rows)
            {
                var bytes = _serializer.SerializeToArray(row.Entry);
                writer.Write(row.ETag);
                writer.Write(bytes.Length);
                writer.Write(bytes);
            }

            writer.Flush();
            stream.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private sealed record Row(MembershipEntry Entry, string ETag);

    private sealed class Table
    {
        public int Version { get; set; }

        public long NextETag { get; set; }

        public List<Row> Rows { get; } = [];

        public string NewETag() => (++NextETag).ToString(CultureInfo.InvariantCulture);

        public MembershipTableData ToData(Func<Row, bool> filter) => new(
            [.. Rows.Where(filter).Select(r => Tuple.Create(r.Entry, r.ETag))],
            new TableVersion(Version, Version.ToString(CultureInfo.InvariantCulture)));
    }
}
