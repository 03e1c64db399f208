using System.Reflection;
using Google.Protobuf;

namespace ControlPlane.Grpc.Protocol;

/// <summary>
/// The parser of <typeparamref name="T"/>: the generated one (its static <c>Parser</c>, which
/// constructs messages directly), or one that constructs through <c>new T()</c> for a type without it.
/// </summary>
internal static class MessageParsers<T>
    where T : class, IMessage<T>, new()
{
    public static readonly MessageParser<T> Instance =
        typeof(T).GetProperty("Parser", BindingFlags.Public | BindingFlags.Static)?.GetValue(null) as MessageParser<T>
        ?? new MessageParser<T>(static () => new T());
}
