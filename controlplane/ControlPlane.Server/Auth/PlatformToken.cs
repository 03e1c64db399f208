using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using ControlPlane.Api.Auth;

namespace ControlPlane.Server.Auth;

/// <summary>
/// The platform (admin) tokens: the shared one, read from the environment variable
/// <c>PLATFORM_TOKEN</c> or from the file named by <c>PLATFORM_TOKEN_FILE</c> (the file wins when both
/// are set), whose holder is "admin"; and named ones, one per operator or agent, from the file named by
/// <c>PLATFORM_TOKENS_FILE</c> (lines <c>NAME TOKEN</c>; blank lines and lines starting with '#'
/// ignored), whose holder is the name, so the audit trail records who changed what by credential, not
/// by what a caller says of itself. Never from the command line or configuration files. Only SHA-256
/// digests are kept; a presented token is compared with every one in constant time.
/// </summary>
public sealed partial class PlatformToken
{
    public const string VariableName = "PLATFORM_TOKEN";
    public const string FileVariableName = "PLATFORM_TOKEN_FILE";
    public const string NamedFileVariableName = "PLATFORM_TOKENS_FILE";

    /// <summary>The holder of the shared token.</summary>
    public const string SharedName = "admin";

    private readonly (string Name, byte[] Digest)[] _tokens;

    private PlatformToken((string Name, byte[] Digest)[] tokens, string source)
    {
        _tokens = tokens;
        Source = source;
    }

    /// <summary>Where the tokens came from ("PLATFORM_TOKEN_FILE", "PLATFORM_TOKEN", "PLATFORM_TOKENS_FILE", both joined by '+', or "none"): safe to log.</summary>
    public string Source { get; }

    public bool IsConfigured => _tokens.Length > 0;

    /// <summary>The holders' names, in the order configured (the shared token's "admin" first).</summary>
    public IReadOnlyList<string> Names => [.. _tokens.Select(t => t.Name)];

    /// <summary>A shared token with this value (null or empty: none). One with a comma is refused: a header value with a comma lists several values, which every request would then be refused for.</summary>
    public static PlatformToken FromValue(string? token, string source = "value") =>
        string.IsNullOrEmpty(token) ? new PlatformToken([], "none") : new PlatformToken([(SharedName, Digest(token, source))], source);

    /// <summary>
    /// The shared token (null or empty: none) and the named tokens of <paramref name="namedText"/>
    /// (null: none). Refused: a name that is not 1-64 of letters, digits and <c>._@:/-</c> (starting
    /// with a letter or digit), a name or token given twice, "admin" for a named token while a
    /// shared one is set, a token with a comma. A message names lines, never tokens.
    /// </summary>
    public static PlatformToken FromValues(string? shared, string sharedSource, string? namedText, string namedSource)
    {
        var tokens = new List<(string Name, byte[] Digest)>();
        if (!string.IsNullOrEmpty(shared))
        {
            tokens.Add((SharedName, Digest(shared, sharedSource)));
        }
        if (namedText is not null)
        {
            var line = 0;
            foreach (var raw in namedText.Split('\n'))
            {
                line++;
                var text = raw.Trim();
                if (text.Length == 0 || text.StartsWith('#'))
                {
                    continue;
                }
                var parts = text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (parts.Length != 2)
                {
                    throw new InvalidOperationException($"{namedSource}, line {line}: expected 'NAME TOKEN' (two fields separated by spaces), found {parts.Length} field(s)");
                }
                var name = parts[0];
                if (!NamePattern().IsMatch(name))
                {
                    throw new InvalidOperationException($"{namedSource}, line {line}: the name must be 1-64 letters, digits or ._@:/- starting with a letter or digit");
                }
                if (tokens.Any(t => t.Name == name))
                {
                    throw new InvalidOperationException($"{namedSource}, line {line}: the name '{name}' is {(name == SharedName && !string.IsNullOrEmpty(shared) ? $"the shared token's ({sharedSource})" : "given twice")}");
                }
                var digest = Digest(parts[1], $"{namedSource}, line {line}");
                var same = tokens.FindIndex(t => CryptographicOperations.FixedTimeEquals(t.Digest, digest));
                if (same >= 0)
                {
                    throw new InvalidOperationException($"{namedSource}, line {line}: '{name}' has the same token as '{tokens[same].Name}': each holder needs a token of its own");
                }
                tokens.Add((name, digest));
            }
        }
        var sources = new List<string>();
        if (!string.IsNullOrEmpty(shared))
        {
            sources.Add(sharedSource);
        }
        if (tokens.Count > sources.Count)
        {
            sources.Add(namedSource);
        }
        return new PlatformToken([.. tokens], sources.Count == 0 ? "none" : string.Join('+', sources));
    }

    /// <summary>Reads the tokens as the process environment provides them.</summary>
    public static PlatformToken FromEnvironment(Func<string, string?>? getVariable = null)
    {
        getVariable ??= Environment.GetEnvironmentVariable;
        var (token, source) = SecretSource.Read(VariableName, FileVariableName, getVariable);
        string? named = null;
        if (getVariable(NamedFileVariableName) is { Length: > 0 } file)
        {
            try
            {
                named = File.ReadAllText(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException($"{NamedFileVariableName} names '{file}', which cannot be read: {ex.Message}", ex);
            }
        }
        return FromValues(token, source, named, NamedFileVariableName);
    }

    /// <summary>True when <paramref name="presented"/> is one of the tokens. Time does not depend on where they differ, nor on their lengths.</summary>
    public bool Matches(string? presented) => Identify(presented) is not null;

    /// <summary>The holder of <paramref name="presented"/> ("admin" for the shared token, a named token's name), or null; every token is compared, in constant time.</summary>
    public string? Identify(string? presented)
    {
        if (_tokens.Length == 0 || presented is null)
        {
            return null;
        }
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(presented);
        SHA256.HashData(bytes, digest);
        CryptographicOperations.ZeroMemory(bytes);
        string? holder = null;
        foreach (var (name, expected) in _tokens)
        {
            if (CryptographicOperations.FixedTimeEquals(digest, expected))
            {
                holder = name;
            }
        }
        return holder;
    }

    private static byte[] Digest(string token, string source)
    {
        if (token.Contains(',', StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The token ({source}) contains ',', which a header reads as a list of several values (refused): choose a token without commas.");
        }
        return SHA256.HashData(Encoding.UTF8.GetBytes(token));
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9._@:/-]{0,63}\\z")]
    private static partial Regex NamePattern();
}
