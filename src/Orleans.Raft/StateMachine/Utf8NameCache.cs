using System.Text;

namespace Orleans.Raft.StateMachine;

/// <summary>
/// The names every command repeats (grain types, state names), decoded from UTF-8 once per replica instead of once per
/// command: a hit allocates nothing, and equal keys then share their strings, which makes the store's key comparisons
/// cheap. Grain keys are not cached (one per grain, so unbounded).
/// </summary>
/// <remarks>Not thread-safe: it belongs to one state machine's applier.</remarks>
internal sealed class Utf8NameCache
{
    // Bounds: names come from the application's code, so a few dozen is typical; anything beyond is decoded each time.
    private const int MaxNames = 1024;
    private const int MaxNameBytes = 256;

    private readonly Dictionary<string, string> _names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public Utf8NameCache() => _lookup = _names.GetAlternateLookup<ReadOnlySpan<char>>();

    public int Count => _names.Count;

    /// <summary>The string of <paramref name="utf8"/>, as <see cref="Encoding.GetString(ReadOnlySpan{byte})"/> decodes it.</summary>
    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length > MaxNameBytes)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        // UTF-8 never decodes to more chars than it has bytes (sized to the name: stack space is zeroed).
        Span<char> chars = stackalloc char[utf8.Length];
        var decoded = chars[..Encoding.UTF8.GetChars(utf8, chars)];
        if (_lookup.TryGetValue(decoded, out var name))
        {
            return name;
        }

        name = new string(decoded);
        if (_names.Count < MaxNames)
        {
            _names.Add(name, name);
        }

        return name;
    }
}
