using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace ControlPlane.Grpc.Transcoding.Internal;

/// <summary>
/// A dotted path from a request message to one of its (possibly nested) fields, such as
/// <c>page.size</c>: every step but the last is a singular message field. Setting a value creates
/// the intermediate messages.
/// </summary>
internal sealed class FieldPath
{
    private FieldPath(IReadOnlyList<FieldDescriptor> fields)
    {
        Fields = fields;
        Text = string.Join('.', fields.Select(f => f.Name));
    }

    public IReadOnlyList<FieldDescriptor> Fields { get; }

    /// <summary>The path in proto field names, as error details name it.</summary>
    public string Text { get; }

    public FieldDescriptor Leaf => Fields[^1];

    /// <summary>
    /// Resolves <paramref name="dotted"/> against <paramref name="root"/>; each step may use the proto
    /// name or, when <paramref name="allowJsonNames"/>, the JSON (lowerCamel) name.
    /// </summary>
    public static FieldPath? Resolve(MessageDescriptor root, string dotted, bool allowJsonNames, out string? error)
    {
        error = null;
        var fields = new List<FieldDescriptor>();
        var current = root;
        var steps = dotted.Split('.');
        for (var i = 0; i < steps.Length; i++)
        {
            if (current is null)
            {
                error = $"'{EchoedValue.Cap(string.Join('.', steps[..i]))}' is not a message, so it has no field '{EchoedValue.Cap(steps[i])}'";
                return null;
            }
            var field = current.FindFieldByName(steps[i]);
            if (field is null && allowJsonNames)
            {
                field = current.Fields.InDeclarationOrder().FirstOrDefault(f => f.JsonName == steps[i]);
            }
            if (field is null)
            {
                error = $"{current.FullName} has no field '{EchoedValue.Cap(steps[i])}'";
                return null;
            }
            if (i < steps.Length - 1 && (field.IsRepeated || field.FieldType != FieldType.Message))
            {
                error = $"'{field.Name}' is {(field.IsRepeated ? "repeated" : "not a message")}, so '{EchoedValue.Cap(dotted)}' cannot reach into it";
                return null;
            }
            fields.Add(field);
            current = field.FieldType == FieldType.Message ? field.MessageType : null;
        }
        return new FieldPath(fields);
    }

    /// <summary>True when one path is a prefix of the other (they set the same field or nested ones).</summary>
    public bool Overlaps(FieldPath other)
    {
        var n = Math.Min(Fields.Count, other.Fields.Count);
        for (var i = 0; i < n; i++)
        {
            if (Fields[i] != other.Fields[i])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The singular leaf's value when it is set: present, for a field with presence; not its default
    /// (empty, zero, false) otherwise, as proto3 JSON cannot tell that default from a field left out.
    /// </summary>
    public bool TryGetSetValue(IMessage root, out object? value)
    {
        value = null;
        var message = root;
        for (var i = 0; i < Fields.Count - 1; i++)
        {
            if (Fields[i].Accessor.GetValue(message) is not IMessage next)
            {
                return false;
            }
            message = next;
        }
        if (Leaf.HasPresence && !Leaf.Accessor.HasValue(message))
        {
            return false;
        }
        value = Leaf.Accessor.GetValue(message);
        return Leaf.HasPresence || !IsDefault(value);
    }

    private static bool IsDefault(object? value) => value switch
    {
        null => true,
        string s => s.Length == 0,
        ByteString b => b.IsEmpty,
        bool b => !b,
        Enum e => Convert.ToInt64(e, System.Globalization.CultureInfo.InvariantCulture) == 0,
        int or long or uint or ulong or float or double => Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture) == 0,
        _ => false,
    };

    /// <summary>Sets a singular leaf.</summary>
    public void Set(IMessage root, object value) => Leaf.Accessor.SetValue(Parent(root), value);

    /// <summary>Appends to a repeated leaf.</summary>
    public void Add(IMessage root, object value) => ((System.Collections.IList)Leaf.Accessor.GetValue(Parent(root))).Add(value);

    private IMessage Parent(IMessage root)
    {
        var message = root;
        for (var i = 0; i < Fields.Count - 1; i++)
        {
            var field = Fields[i];
            var next = (IMessage?)field.Accessor.GetValue(message);
            if (next is null)
            {
                next = (IMessage)Activator.CreateInstance(field.MessageType.ClrType)!;
                field.Accessor.SetValue(message, next);
            }
            message = next;
        }
        return message;
    }

    public override string ToString() => Text;
}
