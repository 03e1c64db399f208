using Microsoft.AspNetCore.Http;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// RFC 9110 §9.1: the method token is case-sensitive, so "get" is not GET. Endpoint routing compares
/// methods ignoring case; this tells the requests it would serve under another method's name.
/// </summary>
internal static class HttpMethodToken
{
    /// <summary>True when <paramref name="method"/> equals a standard method only ignoring case ("get", "Head").</summary>
    public static bool IsMiscased(string method)
    {
        // Kestrel hands the standard methods over as these interned strings: the hot path is reference checks.
        if (ReferenceEquals(method, HttpMethods.Get) || ReferenceEquals(method, HttpMethods.Post) || ReferenceEquals(method, HttpMethods.Put)
            || ReferenceEquals(method, HttpMethods.Delete) || ReferenceEquals(method, HttpMethods.Head) || ReferenceEquals(method, HttpMethods.Patch)
            || ReferenceEquals(method, HttpMethods.Options))
        {
            return false;
        }
        return !string.Equals(HttpMethods.GetCanonicalizedValue(method), method, StringComparison.Ordinal);
    }
}
