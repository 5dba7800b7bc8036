using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace BankAccount;

// Orleans membership for silos that share one process: a table in memory that any silo may leave, unlike development
// clustering, whose primary silo is a single point of failure. A real deployment uses a highly available table.
public sealed class SharedMembershipTable : IMembershipTable
{
    private readonly Lock _lock = new();
    private readonly Dictionary<SiloAddress, (MembershipEntry Entry, string ETag)> _rows = [];
    private readonly DeepCopier _copier = new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<DeepCopier>();
    private TableVersion _version = new(0, "0");
    private long _nextETag;

    public Task InitializeMembershipTable(bool tryInitTableVersion) => Task.CompletedTask;

    public Task DeleteMembershipTableEntries(string clusterId)
    {
        lock (_lock)
        {
            _rows.Clear();
        }

        return Task.CompletedTask;
    }

    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate)
    {
        lock (_lock)
        {
            foreach (var (address, row) in _rows.ToList())
            {
                if (row.Entry.Status == SiloStatus.Dead && row.Entry.IAmAliveTime < beforeDate.UtcDateTime)
                {
                    _rows.Remove(address);
                }
            }
        }

        return Task.CompletedTask;
    }

    public Task<MembershipTableData> ReadRow(SiloAddress key)
    {
        lock (_lock)
        {
            var rows = _rows.TryGetValue(key, out var row) ? [Tuple.Create(_copier.Copy(row.Entry), row.ETag)] : new List<Tuple<MembershipEntry, string>>();
            return Task.FromResult(new MembershipTableData(rows, _version));
        }
    }

    public Task<MembershipTableData> ReadAll()
    {
        lock (_lock)
        {
            var rows = _rows.Values.Select(r => Tuple.Create(_copier.Copy(r.Entry), r.ETag)).ToList();
            return Task.FromResult(new MembershipTableData(rows, _version));
        }
    }

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion)
    {
        lock (_lock)
        {
            if (_rows.ContainsKey(entry.SiloAddress) || tableVersion.Version != _version.Version + 1)
            {
                return Task.FromResult(false);
            }

            _rows[entry.SiloAddress] = (_copier.Copy(entry), NewETag());
            _version = new TableVersion(tableVersion.Version, NewETag());
            return Task.FromResult(true);
        }
    }

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion)
    {
        lock (_lock)
        {
            if (!_rows.TryGetValue(entry.SiloAddress, out var row) || row.ETag != etag || tableVersion.Version != _version.Version + 1)
            {
                return Task.FromResult(false);
            }

            _rows[entry.SiloAddress] = (_copier.Copy(entry), NewETag());
            _version = new TableVersion(tableVersion.Version, NewETag());
            return Task.FromResult(true);
        }
    }

    public Task UpdateIAmAlive(MembershipEntry entry)
    {
        lock (_lock)
        {
            if (_rows.TryGetValue(entry.SiloAddress, out var row))
            {
                var updated = _copier.Copy(row.Entry);
                updated.IAmAliveTime = entry.IAmAliveTime;
                _rows[entry.SiloAddress] = (updated, NewETag());
            }
        }

        return Task.CompletedTask;
    }

    private string NewETag() => (++_nextETag).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
