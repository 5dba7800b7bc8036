namespace KeyValueStore.Commands;

/// <summary>Command-line arguments: <c>--name value</c> options and positional words, in any order.</summary>
public sealed class Arguments
{
    private readonly Dictionary<string, string> _options = new(StringComparer.Ordinal);
    private readonly List<string> _positional = [];

    /// <summary>Parses <paramref name="args"/>.</summary>
    /// <param name="args">The arguments after the command name.</param>
    /// <exception cref="UsageException">An option has no value.</exception>
    public Arguments(IEnumerable<string> args)
    {
        using var e = args.GetEnumerator();
        while (e.MoveNext())
        {
            var arg = e.Current;
            if (arg.StartsWith("--", StringComparison.Ordinal))
            {
                if (!e.MoveNext())
                {
                    throw new UsageException($"Option {arg} needs a value.");
                }

                _options[arg[2..]] = e.Current;
            }
            else
            {
                _positional.Add(arg);
            }
        }
    }

    /// <summary>The positional words.</summary>
    public IReadOnlyList<string> Positional => _positional;

    /// <summary>An option's value, or <paramref name="fallback"/>.</summary>
    /// <param name="name">The option name, without dashes.</param>
    /// <param name="fallback">The default.</param>
    /// <returns>The value.</returns>
    public string Get(string name, string fallback) => _options.GetValueOrDefault(name, fallback);

    /// <summary>A required option.</summary>
    /// <param name="name">The option name, without dashes.</param>
    /// <returns>The value.</returns>
    /// <exception cref="UsageException">It is missing.</exception>
    public string Require(string name) => _options.TryGetValue(name, out var value) ? value : throw new UsageException($"Option --{name} is required.");

    /// <summary>An integer option.</summary>
    /// <param name="name">The option name, without dashes.</param>
    /// <param name="fallback">The default.</param>
    /// <returns>The value.</returns>
    /// <exception cref="UsageException">It is not an integer.</exception>
    public int GetInt(string name, int fallback) =>
        !_options.TryGetValue(name, out var value) ? fallback
        : int.TryParse(value, out var parsed) ? parsed
        : throw new UsageException($"Option --{name} must be an integer, not '{value}'.");

    /// <summary>Parses <c>id=host:port,id=host:port</c>.</summary>
    /// <param name="value">The list.</param>
    /// <returns>Node id → address.</returns>
    /// <exception cref="UsageException">An element is not <c>id=address</c>.</exception>
    public static Dictionary<string, string> ParsePeers(string value)
    {
        var peers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == part.Length - 1)
            {
                throw new UsageException($"Peer '{part}' must be id=host:port, for example n2=127.0.0.1:5002.");
            }

            peers[part[..eq]] = part[(eq + 1)..];
        }

        return peers;
    }
}

/// <summary>The command line is wrong; the message says how.</summary>
public sealed class UsageException : Exception
{
    /// <summary>Creates the exception.</summary>
    public UsageException()
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    public UsageException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The cause.</param>
    public UsageException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
