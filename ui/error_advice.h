#pragma once
// Turns an engine Status into what a user reads in an error dialog: a title, what happened (the
// engine's own message, which names the file, value or device) and what to do about it.

#include <QString>

#include "lipar/status.h"

class ErrorAdvice {
  public:
    explicit ErrorAdvice(const lipar::Status& status);

    QString title() const;
    QString what() const;
    QString advice() const;

  private:
    lipar::Status m_status;
};
