using System.Text.Json;

namespace Orleans.Raft.Storage;

/// <summary>
/// The member addresses the group recorded (<c>GrainStateMachine.MemberAddresses</c>), as this node last applied them,
/// kept beside its log so that a restarted silo can reach (and accept) members added at run time before it has
/// replayed its log: a node may come back with a lower commit index than it had, and then learns of the entries that
/// set those addresses only from the leader, which may be one of those members.
/// </summary>
/// <remarks>
/// A copy of replicated state, not a source of it. Without it (missing, unreadable, or the silo was down when the
/// address was recorded) a silo cannot accept a leader it has no address for until its removal watch learns that
/// address from the other silos (event 4021), a few seconds after it starts.
/// </remarks>
internal static class MemberAddressesRecord
{
    /// <summary>The file's name inside the node's data directory.</summary>
    public const string FileName = "member-addresses.json";

    /// <summary>Reads the record.</summary>
    /// <param name="directory">The node's data directory.</param>
    /// <param name="problem">Why the record could not be read, when it exists but cannot; null otherwise.</param>
    /// <returns>The recorded addresses; empty when there is no readable record.</returns>
    public static Dictionary<string, string> Load(string directory, out string? problem)
    {
        problem = null;
        var path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
        {
            return new Dictionary<string, string>(StringComparer.Ordinal);
        }

        try
        {
            var addresses = JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllBytes(path));
            if (addresses is not null && addresses.All(a => !string.IsNullOrWhiteSpace(a.Key) && !string.IsNullOrWhiteSpace(a.Value)))
            {
                return new Dictionary<string, string>(addresses, StringComparer.Ordinal);
            }

            problem = $"{path} does not map node ids to addresses";
        }
        catch (JsonException ex)
        {
            problem = $"{path} is not JSON: {ex.Message}";
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            problem = $"{path} cannot be read: {ex.Message}";
        }

        return new Dictionary<string, string>(StringComparer.Ordinal);
    }

    /// <summary>Replaces the record: written whole, flushed to disk, then moved into place.</summary>
    /// <param name="directory">The node's data directory.</param>
    /// <param name="addresses">The addresses the group recorded.</param>
    public static void Save(string directory, IReadOnlyDictionary<string, string> addresses)
    {
        var path = Path.Combine(directory, FileName);
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            file.Write(JsonSerializer.SerializeToUtf8Bytes(addresses.OrderBy(a => a.Key, StringComparer.Ordinal).ToDictionary(a => a.Key, a => a.Value)));
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
