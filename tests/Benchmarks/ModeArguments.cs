using System.Globalization;

namespace Benchmarks;

/// <summary>Reading a mode's option values; a bad one is an <see cref="ArgumentException"/> that names the option.</summary>
internal static class ModeArguments
{
    /// <summary>The integer at <paramref name="i"/>, the value of the option before it.</summary>
    public static int Int(string[] args, int i) =>
        i < args.Length && int.TryParse(args[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw new ArgumentException($"'{args[i - 1]}' needs an integer.");

    /// <summary>The word at <paramref name="i"/>, one of <paramref name="allowed"/>.</summary>
    public static string OneOf(string[] args, int i, params string[] allowed) =>
        i < args.Length && allowed.Contains(args[i], StringComparer.Ordinal)
            ? args[i]
            : throw new ArgumentException($"'{args[i - 1]}' needs one of {string.Join(", ", allowed)}.");
}
